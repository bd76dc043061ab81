package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/petl-go/petl/internal/safefile"
)

// Tensor is one named tensor to write. Its data is F32 (for dtype F32),
// Data, the raw little-endian bytes (for any dtype, F32 included), or Fill
// (for dtype F32), which writes the values into a buffer of the shape's
// element count when the tensor's turn comes, so that a large file can be
// written one tensor at a time. Exactly one of the three must be set,
// unless the tensor has no elements.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	Data  []byte
	Fill  func(dst []float32)
}

// F32Tensor returns a float32 tensor for WriteFile.
func F32Tensor(name string, shape []int, data []float32) Tensor {
	return Tensor{Name: name, DType: F32, Shape: shape, F32: data}
}

// I64Tensor returns an int64 tensor for WriteFile, encoding values.
func I64Tensor(name string, shape []int, values []int64) Tensor {
	b := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: I64, Shape: shape, Data: b}
}

// headerAlign is the multiple to which the header is padded with spaces,
// so that the data section starts on a 64-byte boundary: 8-byte aligned,
// as every dtype needs, and, in a mapping (which starts on a page), on a
// cache line, so that SIMD loads of tensors whose sizes are multiples of
// 64 bytes (packed weights) do not straddle two lines.
const headerAlign = 64

// headerEntry is one tensor in a header, as written.
type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteFile writes tensors and metadata (which may be nil) to a safetensors
// file at path, atomically (see safefile.WriteAtomic). The output depends only on
// the set of tensors, not on their order: tensors are laid out by element
// size, largest first, then by name, which keeps every tensor aligned to
// its element size; the header is padded with spaces so that the data
// section starts at a multiple of 64 bytes.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	ts, header, err := layout(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	err = safefile.WriteAtomic(path, func(w io.Writer) error {
		return writeTo(w, ts, header)
	})
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Encode returns the bytes of a safetensors file holding tensors and
// metadata, laid out as WriteFile lays them out.
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	ts, header, err := layout(tensors, metadata)
	if err != nil {
		return nil, fmt.Errorf("safetensors: encoding: %w", err)
	}
	var b bytes.Buffer
	if err := writeTo(&b, ts, header); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// layout checks tensors, orders them, and builds the padded header.
func layout(tensors []Tensor, metadata map[string]string) ([]Tensor, []byte, error) {
	ts := append([]Tensor(nil), tensors...)
	seen := make(map[string]bool, len(ts))
	for i := range ts {
		t := &ts[i]
		if err := checkTensor(t); err != nil {
			return nil, nil, err
		}
		if seen[t.Name] {
			return nil, nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
	}
	sort.SliceStable(ts, func(i, j int) bool {
		si, sj := ts[i].DType.Size(), ts[j].DType.Size()
		if si != sj {
			return si > sj
		}
		return ts[i].Name < ts[j].Name
	})
	entries := make(map[string]any, len(ts)+1)
	if len(metadata) > 0 {
		entries[metadataKey] = metadata
	}
	var off int64
	for _, t := range ts {
		n := int64(t.byteLen())
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		entries[t.Name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(entries) // map keys are written sorted
	if err != nil {
		return nil, nil, err
	}
	if pad := (headerAlign - (8+len(h))%headerAlign) % headerAlign; pad > 0 {
		h = append(h, strings.Repeat(" ", pad)...)
	}
	return ts, h, nil
}

// checkTensor validates one tensor to write.
func checkTensor(t *Tensor) error {
	if t.Name == "" {
		return fmt.Errorf("tensor with an empty name")
	}
	if t.Name == metadataKey {
		return fmt.Errorf("tensor name %q is reserved", t.Name)
	}
	if !t.DType.Valid() {
		return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return fmt.Errorf("tensor %q: shape %v overflows", t.Name, t.Shape)
		}
		n *= d
	}
	set := 0
	for _, given := range []bool{t.F32 != nil, t.Data != nil, t.Fill != nil} {
		if given {
			set++
		}
	}
	if set > 1 {
		return fmt.Errorf("tensor %q: more than one of F32, Data and Fill are set", t.Name)
	}
	if t.Fill != nil {
		if t.DType != F32 {
			return fmt.Errorf("tensor %q: Fill given for dtype %s", t.Name, t.DType)
		}
		return nil
	}
	if t.F32 != nil {
		if t.DType != F32 {
			return fmt.Errorf("tensor %q: F32 data given for dtype %s", t.Name, t.DType)
		}
		if len(t.F32) != n {
			return fmt.Errorf("tensor %q: %d values for shape %v (%d elements)", t.Name, len(t.F32), t.Shape, n)
		}
		return nil
	}
	if size := t.DType.Size(); n > math.MaxInt/size || len(t.Data) != n*size {
		return fmt.Errorf("tensor %q: %d data bytes for shape %v of %s (%d elements of %d bytes)",
			t.Name, len(t.Data), t.Shape, t.DType, n, size)
	}
	return nil
}

// byteLen is the size of the tensor's data in bytes.
func (t *Tensor) byteLen() int {
	switch {
	case t.F32 != nil:
		return 4 * len(t.F32)
	case t.Fill != nil:
		return 4 * t.elements()
	}
	return len(t.Data)
}

// elements is the product of the shape (checked by checkTensor).
func (t *Tensor) elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// writeTo writes a laid-out file.
func writeTo(w io.Writer, ts []Tensor, header []byte) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	var buf [4096]byte
	var filled []float32 // Fill's buffer, reused
	for _, t := range ts {
		vals := t.F32
		if t.Fill != nil {
			if n := t.elements(); cap(filled) < n {
				filled = make([]float32, n)
			}
			vals = filled[:t.elements()]
			t.Fill(vals)
		} else if vals == nil {
			bw.Write(t.Data)
			continue
		}
		for i := 0; i < len(vals); {
			k := 0
			for ; k+4 <= len(buf) && i < len(vals); i, k = i+1, k+4 {
				binary.LittleEndian.PutUint32(buf[k:], math.Float32bits(vals[i]))
			}
			bw.Write(buf[:k])
		}
	}
	return bw.Flush()
}
