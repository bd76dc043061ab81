package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawFile assembles a safetensors file from a header text and data bytes.
func rawFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func writeTemp(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.safetensors")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func u16Bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

// sampleTensors covers every kind the reader handles: F32 (matrix, zero
// size), F16, BF16 (scalar), I64, I32, U8 and BOOL.
func sampleTensors() []Tensor {
	return []Tensor{
		F32Tensor("layer.weight", []int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.25}),
		F32Tensor("empty", []int{0, 4}, []float32{}),
		{Name: "half", DType: F16, Shape: []int{3}, Data: u16Bytes(0x3c00, 0xc000, 0x3555)},
		{Name: "brain", DType: BF16, Shape: []int{}, Data: u16Bytes(0x4049)},
		I64Tensor("position_ids", []int{1, 4}, []int64{0, 1, 2, -3}),
		{Name: "i32", DType: I32, Shape: []int{2}, Data: []byte{0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0}},
		{Name: "bytes", DType: U8, Shape: []int{3}, Data: []byte{0, 200, 255}},
		{Name: "flags", DType: BOOL, Shape: []int{2}, Data: []byte{1, 0}},
	}
}

func sampleFile(t testing.TB) []byte {
	b, err := Encode(sampleTensors(), map[string]string{"format": "pt"})
	require.NoError(t, err)
	return b
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	require.NoError(t, WriteFile(p, sampleTensors(), map[string]string{"format": "pt", "k": "v"}))
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()

	assert.Equal(t, p, f.Path())
	assert.Equal(t, map[string]string{"format": "pt", "k": "v"}, f.Metadata())
	assert.Equal(t, []string{"brain", "bytes", "empty", "flags", "half", "i32", "layer.weight", "position_ids"}, f.Names())

	w, err := f.Float32("layer.weight")
	require.NoError(t, err)
	assert.Equal(t, sampleTensors()[0].F32, w)
	in, ok := f.Info("layer.weight")
	require.True(t, ok)
	assert.Equal(t, F32, in.DType)
	assert.Equal(t, []int{2, 3}, in.Shape)
	assert.Equal(t, 6, in.Elements())
	assert.Equal(t, in.ZeroCopy, f.Mapped(), "aligned F32 is zero-copy exactly when mapped")
	assert.Equal(t, 0, f.CopiedF32())

	e, err := f.Float32("empty")
	require.NoError(t, err)
	assert.Empty(t, e)

	h, err := f.Float32("half")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -2, 0.333251953125}, h)
	in, _ = f.Info("half")
	assert.False(t, in.ZeroCopy)

	bf, err := f.Float32("brain")
	require.NoError(t, err)
	assert.Equal(t, []float32{3.140625}, bf)

	ids, err := f.Int64("position_ids")
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1, 2, -3}, ids)
	i32, err := f.Int64("i32")
	require.NoError(t, err)
	assert.Equal(t, []int64{-1, 7}, i32)
	u8, err := f.Int64("bytes")
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 200, 255}, u8)
	fl, err := f.Int64("flags")
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 0}, fl)

	raw, err := f.Bytes("i32")
	require.NoError(t, err)
	assert.Equal(t, sampleTensors()[5].Data, raw)

	// Type and name errors.
	_, err = f.Float32("position_ids")
	assert.ErrorContains(t, err, `"position_ids" has dtype I64`)
	_, err = f.Int64("layer.weight")
	assert.ErrorContains(t, err, `"layer.weight" has dtype F32`)
	_, err = f.Float32("nope")
	assert.ErrorContains(t, err, `no tensor "nope"`)
	assert.ErrorContains(t, err, p)

	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "Close is idempotent")
}

func TestWriterLayout(t *testing.T) {
	a, err := Encode(sampleTensors(), nil)
	require.NoError(t, err)
	// Reversed input gives the same bytes.
	rev := sampleTensors()
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b, err := Encode(rev, nil)
	require.NoError(t, err)
	assert.Equal(t, a, b, "output depends only on the set of tensors")

	n := binary.LittleEndian.Uint64(a)
	assert.Zero(t, (8+n)%64, "data section starts on a 64-byte boundary")
	f, err := parse("mem", a)
	require.NoError(t, err)
	for _, name := range f.Names() {
		in, _ := f.Info(name)
		assert.Zero(t, in.Begin%int64(in.DType.Size()), "tensor %s aligned to its element size", name)
	}
}

// TestWriterFill checks that a tensor given by Fill is written as the same
// tensor given by its values, and that Fill gets a buffer of the shape's size.
func TestWriterFill(t *testing.T) {
	want, err := Encode(sampleTensors(), nil)
	require.NoError(t, err)
	ts := sampleTensors()
	filled := 0
	for i := range ts {
		if vals := ts[i].F32; vals != nil {
			ts[i].F32 = nil
			ts[i].Fill = func(dst []float32) {
				require.Len(t, dst, len(vals))
				copy(dst, vals)
				filled++
			}
		}
	}
	got, err := Encode(ts, nil)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.NotZero(t, filled, "Fill was called")
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{F32Tensor("a", []int{1}, []float32{1}), F32Tensor("a", []int{1}, []float32{2})}, `duplicate tensor name "a"`},
		{"empty name", []Tensor{F32Tensor("", []int{1}, []float32{1})}, "empty name"},
		{"metadata name", []Tensor{F32Tensor("__metadata__", []int{1}, []float32{1})}, "reserved"},
		{"count", []Tensor{F32Tensor("a", []int{2, 2}, []float32{1, 2, 3})}, `"a": 3 values for shape [2 2]`},
		{"bytes", []Tensor{{Name: "a", DType: I64, Shape: []int{2}, Data: make([]byte, 15)}}, `"a": 15 data bytes`},
		{"dtype", []Tensor{{Name: "a", DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}}, `unknown dtype "F128"`},
		{"negative", []Tensor{{Name: "a", DType: U8, Shape: []int{-1}}}, "negative dimension"},
		{"both", []Tensor{{Name: "a", DType: F32, Shape: []int{1}, F32: []float32{1}, Data: make([]byte, 4)}}, "more than one of F32, Data and Fill"},
		{"fill and data", []Tensor{{Name: "a", DType: F32, Shape: []int{1}, Fill: func([]float32) {}, Data: make([]byte, 4)}}, "more than one of"},
		{"fill not f32", []Tensor{{Name: "a", DType: F16, Shape: []int{1}, Fill: func([]float32) {}}}, "Fill given for dtype F16"},
		{"f32 for f16", []Tensor{{Name: "a", DType: F16, Shape: []int{1}, F32: []float32{1}}}, "F32 data given for dtype F16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.safetensors")
			err := WriteFile(p, tt.tensors, nil)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.want)
			_, statErr := os.Stat(p)
			assert.True(t, os.IsNotExist(statErr), "nothing written on error")
			entries, _ := os.ReadDir(filepath.Dir(p))
			assert.Empty(t, entries, "no temporary file left behind")
		})
	}
}

// TestMisalignedF32 opens a valid file whose data section starts at an
// offset that is not a multiple of 4: F32 tensors are then copied, not
// mapped, and reported as such.
func TestMisalignedF32(t *testing.T) {
	header := `{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`
	for len(header)%4 != 2 { // 8 + len(header) = 2 mod 4
		header += " "
	}
	f, err := Open(writeTemp(t, rawFile(header, f32Bytes(1.5, -2, 1e-30))))
	require.NoError(t, err)
	defer f.Close()
	w, err := f.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, -2, 1e-30}, w)
	in, _ := f.Info("w")
	assert.False(t, in.ZeroCopy)
	assert.Equal(t, 1, f.CopiedF32())
	assert.Zero(t, uintptr(unsafe.Pointer(&w[0]))%4)
}

func TestEmptyFile(t *testing.T) {
	f, err := Open(writeTemp(t, rawFile("{}", nil)))
	require.NoError(t, err)
	assert.Empty(t, f.Names())
	assert.Nil(t, f.Metadata())
	require.NoError(t, f.Close())
}

// corruptCases are invalid files, each with a fragment its error must
// contain. They are also the seed corpus of FuzzOpen.
func corruptCases() []struct {
	name string
	file []byte
	want string
} {
	d12 := f32Bytes(1, 2, 3)
	entry := func(body string) []byte { return rawFile(`{"w":`+body+`}`, d12) }
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, math.MaxUint64)
	longLen := rawFile("{}", nil)
	binary.LittleEndian.PutUint64(longLen, 3)
	capLen := make([]byte, 8)
	binary.LittleEndian.PutUint64(capLen, MaxHeaderSize+1)
	return []struct {
		name string
		file []byte
		want string
	}{
		{"too short", []byte{2, 0, 0}, "too short"},
		{"huge header length", hugeLen, "exceeds the limit"},
		{"header over the cap", append(capLen, "{}"...), "exceeds the limit"},
		{"header past end of file", longLen, "exceeds the 2 bytes"},
		{"header length 0", rawFile("", nil), "too short for a JSON object"},
		{"bad JSON", rawFile(`{"w":{"dtype":`, nil), "header"},
		{"not an object", rawFile(`[1, 2]`, nil), "where '{' was expected"},
		{"trailing JSON", rawFile(`{}{}`, nil), "after the object"},
		{"invalid UTF-8", rawFile("{\"\xff\":1}", nil), "UTF-8"},
		{"duplicate tensor", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32Bytes(1, 2)), `duplicate key "w"`},
		{"duplicate entry key", entry(`{"dtype":"F32","dtype":"F32","shape":[3],"data_offsets":[0,12]}`), `duplicate key "dtype"`},
		{"unknown entry key", entry(`{"dtype":"F32","shape":[3],"data_offsets":[0,12],"extra":1}`), `unknown key "extra"`},
		{"entry not an object", entry(`[1]`), `tensor "w"`},
		{"no dtype", entry(`{"shape":[3],"data_offsets":[0,12]}`), "no dtype"},
		{"no shape", entry(`{"dtype":"F32","data_offsets":[0,12]}`), "no shape"},
		{"no offsets", entry(`{"dtype":"F32","shape":[3]}`), "no data_offsets"},
		{"unknown dtype", entry(`{"dtype":"F31","shape":[3],"data_offsets":[0,12]}`), `unknown dtype "F31"`},
		{"lower-case dtype", entry(`{"dtype":"f32","shape":[3],"data_offsets":[0,12]}`), `unknown dtype "f32"`},
		{"dtype not a string", entry(`{"dtype":4,"shape":[3],"data_offsets":[0,12]}`), "dtype: 4 is not a string"},
		{"null dtype", entry(`{"dtype":null,"shape":[3],"data_offsets":[0,12]}`), "not a string"},
		{"negative dim", entry(`{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}`), "shape: array element -3"},
		{"fractional dim", entry(`{"dtype":"F32","shape":[3.0],"data_offsets":[0,12]}`), "shape: array element 3.0"},
		{"exponent dim", entry(`{"dtype":"F32","shape":[3e0],"data_offsets":[0,12]}`), "shape: array element 3e0"},
		{"null dim", entry(`{"dtype":"F32","shape":[null],"data_offsets":[0,12]}`), "not a number"},
		{"null shape", entry(`{"dtype":"F32","shape":null,"data_offsets":[0,12]}`), "shape: null is not an array"},
		{"huge dim", entry(`{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,12]}`), "not a non-negative integer in range"},
		{"shape overflow", entry(`{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,12]}`), "overflows"},
		{"shape overflow by dtype", entry(`{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,12]}`), "overflows"},
		{"three offsets", entry(`{"dtype":"F32","shape":[3],"data_offsets":[0,12,12]}`), "3 elements"},
		{"offsets reversed", entry(`{"dtype":"F32","shape":[0],"data_offsets":[12,0]}`), "end before they begin"},
		{"shape/length mismatch", entry(`{"dtype":"F32","shape":[2],"data_offsets":[0,12]}`), "is 8 bytes but data_offsets [0 12] hold 12"},
		{"dtype/length mismatch", entry(`{"dtype":"F16","shape":[3],"data_offsets":[0,12]}`), "is 6 bytes"},
		{"offsets out of range", entry(`{"dtype":"F32","shape":[4],"data_offsets":[0,16]}`), "extend past the 12-byte data section"},
		{"offsets far out of range", entry(`{"dtype":"U8","shape":[4],"data_offsets":[9223372036854775800,9223372036854775804]}`), "extend past"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, d12), `tensor "b": data_offsets [4 12] overlap tensor "a"`},
		{"same offsets", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`, d12), "overlap"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, d12), "gap of 4"},
		{"trailing data", entry(`{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`), "tensors cover 8 bytes but the data section has 12"},
		{"empty name", rawFile(`{"":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`, d12), "empty name"},
		{"metadata not an object", rawFile(`{"__metadata__":"x"}`, nil), "__metadata__"},
		{"metadata number", rawFile(`{"__metadata__":{"a":1}}`, nil), `key "a": 1 is not a string`},
		{"metadata null", rawFile(`{"__metadata__":{"a":null}}`, nil), `key "a": null is not a string`},
		{"metadata nested", rawFile(`{"__metadata__":{"a":{"b":"c"}}}`, nil), "is not a string"},
		{"metadata duplicate", rawFile(`{"__metadata__":{"a":"1","a":"2"}}`, nil), `duplicate key "a"`},
	}
}

func TestCorruptFiles(t *testing.T) {
	for _, tt := range corruptCases() {
		t.Run(tt.name, func(t *testing.T) {
			p := writeTemp(t, tt.file)
			f, err := Open(p)
			if f != nil {
				f.Close()
			}
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, p, "the error names the file")
		})
	}
}

// TestTruncated opens every proper prefix of a valid file: each must fail
// cleanly, and the whole file must open.
func TestTruncated(t *testing.T) {
	full := sampleFile(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "t.safetensors")
	for n := 0; n < len(full); n++ {
		require.NoError(t, os.WriteFile(p, full[:n], 0o644))
		f, err := Open(p)
		if !assert.Error(t, err, "prefix of %d of %d bytes", n, len(full)) {
			f.Close()
		}
	}
	require.NoError(t, os.WriteFile(p, full, 0o644))
	f, err := Open(p)
	require.NoError(t, err)
	f.Close()
}

// TestCorruptedBytes flips every byte of the header of a valid file in
// turn: the result either opens with every tensor readable, or fails with
// an error, never a panic.
func TestCorruptedBytes(t *testing.T) {
	full := sampleFile(t)
	hlen := int(binary.LittleEndian.Uint64(full))
	for i := 0; i < 8+hlen; i++ {
		for _, x := range []byte{0xff, 0x01, '"', '9'} {
			b := bytes.Clone(full)
			b[i] ^= x
			if f, err := parse("mem", b); err == nil {
				readAll(t, f)
			}
		}
	}
}

// readAll reads every tensor of f in every way that applies.
func readAll(t testing.TB, f *File) {
	for _, name := range f.Names() {
		in, ok := f.Info(name)
		require.True(t, ok)
		raw, err := f.Bytes(name)
		require.NoError(t, err)
		require.Equal(t, in.Elements()*in.DType.Size(), len(raw))
		if in.DType.IsFloat() {
			v, err := f.Float32(name)
			require.NoError(t, err)
			require.Len(t, v, in.Elements())
		}
		if in.DType.IsInt() {
			_, _ = f.Int64(name) // BOOL/U64 values may be rejected
		}
	}
}

func TestNotRegular(t *testing.T) {
	_, err := Open(t.TempDir())
	assert.ErrorContains(t, err, "not a regular file")
	_, err = Open(filepath.Join(t.TempDir(), "missing.safetensors"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestIntRangeChecks(t *testing.T) {
	b := rawFile(`{"u":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},"z":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]}}`,
		append(bytes.Repeat([]byte{0xff}, 8), 2))
	f, err := Open(writeTemp(t, b))
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Int64("u")
	assert.ErrorContains(t, err, "overflows int64")
	_, err = f.Int64("z")
	assert.ErrorContains(t, err, "not a bool")
}

func TestDTypeSizes(t *testing.T) {
	sizes := map[DType]int{BOOL: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8}
	for d, s := range sizes {
		assert.Equal(t, s, d.Size(), "%s", d)
		assert.True(t, d.Valid())
	}
	assert.False(t, DType("F128").Valid())
	assert.True(t, strings.HasPrefix(string(F8E4M3), "F8_"))
}
