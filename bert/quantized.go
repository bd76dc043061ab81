package bert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/safetensors"
)

// Int8 weights. Model.QuantizeWeights turns the frozen dense products of
// the encoder and the pooler (the ones PackWeights packs) into int8
// products (kernels.Qgemm): the weights quantized once, per output
// channel, and kept in a file that is memory-mapped read-only, about a
// quarter of their float32 size; activations quantized per row at each
// product. Attention's own products, softmax, layer norms, GELU, adapters
// and heads stay float32, and so does training. The file is the same for
// every kernel variant (one layout), and every variant computes the same
// bits: a safetensors file with, per weight, an I8 tensor named as the
// weight ([channels padded to 16, k padded to 4], the layout of
// kernels.QuantizedB) and an F32 tensor of its channel scales (name +
// ".scale"), and metadata naming the format and the key of the weights.

const (
	quantFormat  = "petl-int8-weights"
	quantVersion = "1"
	// quantSamples is how many channels of each weight are quantized again
	// and compared with the file when a file is reused.
	quantSamples = 7
)

// QuantStats reports what Model.QuantizeWeights did.
type QuantStats struct {
	Path    string // the file; "" for quantizing on the heap
	Tensors int    // dense weights quantized
	Bytes   int64  // their int8 size with their scales
	// Written is true when the file was (re)written, with the reason in
	// Why; false when an existing file was mapped.
	Written bool
	Why     string
}

// DefaultQuantPath returns where QuantizeWeights keeps the int8 weights of
// the base model identified by key: a file under the user's cache
// directory, petl/int8/.
func DefaultQuantPath(key string) (string, error) { return cacheFile("int8", key, "") }

// QuantizeWeights makes the frozen dense products of the encoder and the
// pooler run in int8 (see the comment on int8 weights above): with path
// "", the int8 weights are on the heap; otherwise they are the file at
// path, memory-mapped read-only, used as it is when it holds the weights
// identified by key (and a sample of channels agrees with the weights),
// else written anew, atomically; a file at path that is not a petl int8
// file (by its header) is never replaced. key must identify the weights
// (Checkpoint.Fingerprint does). It replaces an earlier quantization; a
// weight that is trainable, or made trainable later, is multiplied in
// float32.
func (m *Model) QuantizeWeights(path, key string) (QuantStats, error) {
	if err := m.Unquantize(); err != nil {
		return QuantStats{}, err
	}
	ls := m.packedLinears()
	st := QuantStats{Path: path}
	for _, l := range ls {
		if !l.W.Frozen {
			return st, fmt.Errorf("bert: quantizing weights: %s is trainable; only frozen weights can be quantized", l.W.Name)
		}
	}
	if path == "" {
		for _, l := range ls {
			qb, err := kernels.QuantizeB(nil, l.W.W, l.Out, l.In)
			if err != nil {
				return st, fmt.Errorf("bert: quantizing %s: %w", l.W.Name, err)
			}
			l.Quantized = qb
		}
		return quantStats(st, m), nil
	}
	if key == "" {
		return st, fmt.Errorf("bert: quantizing weights into %s: no key identifying the weights", path)
	}
	f, qbs, why := m.openQuantized(path, key)
	if f == nil {
		if err := notForeign(path, quantFormat, "int8 weights"); err != nil {
			return st, err
		}
		st.Written, st.Why = true, why
		if err := m.writeQuantized(path, key); err != nil {
			return st, err
		}
		if f, qbs, why = m.openQuantized(path, key); f == nil {
			return st, fmt.Errorf("bert: int8 weights just written to %s do not read back: %s", path, why)
		}
	}
	for i, l := range ls {
		l.Quantized = qbs[i]
	}
	m.quantFile = f
	return quantStats(st, m), nil
}

// quantStats adds the count and size of the int8 weights to st.
func quantStats(st QuantStats, m *Model) QuantStats {
	for _, l := range m.packedLinears() {
		st.Tensors++
		st.Bytes += int64(kernels.QuantizedBSize(l.Out, l.In)) + 4*int64(l.Out)
	}
	return st
}

// openQuantized opens the file at path if it holds the int8 weights of m
// for key, with one operand per packedLinears; otherwise it returns nil
// and why not.
func (m *Model) openQuantized(path, key string) (*safetensors.File, []*kernels.QuantizedB, string) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "no file yet"
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, nil, err.Error()
	}
	var qbs []*kernels.QuantizedB
	why := func() string {
		md := f.Metadata()
		switch {
		case md["format"] != quantFormat || md["version"] != quantVersion:
			return fmt.Sprintf("format %q version %q, want %q version %q", md["format"], md["version"], quantFormat, quantVersion)
		case md["key"] != key:
			return "made for other weights (key differs)"
		}
		ls := m.packedLinears()
		if n := len(f.Names()); n != 2*len(ls) {
			return fmt.Sprintf("%d tensors, want %d", n, 2*len(ls))
		}
		for _, l := range ls {
			qb, why := quantizedFrom(f, l.W.Name, l.Out, l.In)
			if why != "" {
				return why
			}
			if why := sameQuantized(qb, l.W.W); why != "" {
				return fmt.Sprintf("tensor %s: %s", l.W.Name, why)
			}
			qbs = append(qbs, qb)
		}
		return ""
	}()
	if why != "" {
		f.Close()
		return nil, nil, why
	}
	return f, qbs, ""
}

// quantizedFrom reads the int8 operand called name of an n x k weight from
// f, or says why it cannot.
func quantizedFrom(f *safetensors.File, name string, n, k int) (*kernels.QuantizedB, string) {
	size := kernels.QuantizedBSize(n, k)
	rows := size / ((k + kernels.QKG - 1) / kernels.QKG * kernels.QKG)
	info, ok := f.Info(name)
	switch {
	case !ok:
		return nil, fmt.Sprintf("no tensor %s", name)
	case info.DType != safetensors.I8 || len(info.Shape) != 2 || info.Elements() != size || info.Shape[0] != rows:
		return nil, fmt.Sprintf("tensor %s is %s %v, want I8 [%d %d]", name, info.DType, info.Shape, rows, size/rows)
	}
	raw, err := f.Bytes(name)
	if err != nil {
		return nil, err.Error()
	}
	scale, err := f.Float32(name + ".scale")
	if err != nil {
		return nil, err.Error()
	}
	data := unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw))
	qb, err := kernels.QuantizedBFrom(data, scale, n, k)
	if err != nil {
		return nil, fmt.Sprintf("tensor %s: %v", name, err)
	}
	return qb, ""
}

// sameQuantized quantizes a few channels of w again and compares them with
// qb: a file made for other weights under the same key is caught as far as
// the sample reaches.
func sameQuantized(qb *kernels.QuantizedB, w []float32) string {
	n, k := qb.N, qb.K
	for s := range quantSamples {
		j := s * (n - 1) / max(1, quantSamples-1)
		one, err := kernels.QuantizeB(nil, w[j*k:(j+1)*k], 1, k)
		if err != nil {
			return err.Error()
		}
		if one.Scale[0] != qb.Scale[j] {
			return fmt.Sprintf("channel %d: scale %g, the weights give %g", j, qb.Scale[j], one.Scale[0])
		}
		for p := range k {
			if one.At(0, p) != qb.At(j, p) {
				return fmt.Sprintf("channel %d: value %d differs from the weights'", j, p)
			}
		}
	}
	return ""
}

// writeQuantized writes the int8 weights of m to path, atomically.
func (m *Model) writeQuantized(path, key string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bert: writing int8 weights: %w", err)
	}
	var ts []safetensors.Tensor
	for _, l := range m.packedLinears() {
		qb, err := kernels.QuantizeB(nil, l.W.W, l.Out, l.In)
		if err != nil {
			return fmt.Errorf("bert: quantizing %s: %w", l.W.Name, err)
		}
		kp := (l.In + kernels.QKG - 1) / kernels.QKG * kernels.QKG
		raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(qb.Data))), len(qb.Data))
		ts = append(ts,
			safetensors.Tensor{Name: l.W.Name, DType: safetensors.I8, Shape: []int{len(raw) / kp, kp}, Data: raw},
			safetensors.F32Tensor(l.W.Name+".scale", []int{l.Out}, qb.Scale))
	}
	md := map[string]string{"format": quantFormat, "version": quantVersion, "key": key}
	if err := safetensors.WriteFile(path, ts, md); err != nil {
		return fmt.Errorf("bert: writing int8 weights: %w", err)
	}
	return nil
}

// QuantizedWeights returns the names of the weights that forward passes
// multiply in int8 now (none before QuantizeWeights or after Unquantize).
// Their float32 values are then read only where a weight is made
// trainable: a mapped checkpoint can let them go (Checkpoint.Evict).
func (m *Model) QuantizedWeights() []string {
	var names []string
	for _, l := range m.packedLinears() {
		if l.Quantized != nil && l.W.Frozen {
			names = append(names, l.W.Name)
		}
	}
	return names
}

// Unquantize drops the int8 weights of QuantizeWeights (the products run
// in float32 again) and closes their file. Nothing may run a forward pass
// on the model meanwhile.
func (m *Model) Unquantize() error {
	for _, l := range m.packedLinears() {
		l.Quantized = nil
	}
	return closeMapped(&m.quantFile, "int8 weights")
}
