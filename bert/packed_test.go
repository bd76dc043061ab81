package bert

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/safetensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packConfig is a small model whose products are large enough for the
// blocked SGEMM (and its k blocks: the feed-forward output has k = 300).
func packConfig() Config {
	cfg := tinyConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize = 48, 4, 300
	return cfg
}

// packModel writes a random checkpoint of cfg and returns a model over its
// mapping, with a head, and the checkpoint's fingerprint.
func packModel(t *testing.T, dir string, cfg Config) (*Model, string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, WeightsFileName)); err != nil {
		require.NoError(t, WriteCheckpoint(dir, cfg, syntheticTensors(cfg, 2, 7)))
	}
	ck := openCheckpoint(t, dir)
	m, err := New(cfg, ck)
	require.NoError(t, err)
	require.NoError(t, m.LoadClassifier(ck, 2))
	t.Cleanup(func() { m.Unpack() })
	return m, ck.Fingerprint()
}

// packForward runs a forward pass and returns copies of every layer's
// hidden states and the logits.
func packForward(t *testing.T, m *Model) [][]float32 {
	t.Helper()
	st := &State{KeepHidden: true}
	require.NoError(t, m.Forward(st, testBatch(3, 12, []int{12, 7, 1}, 5)))
	var out [][]float32
	for _, h := range st.Hidden {
		out = append(out, append([]float32(nil), h...))
	}
	return append(out, append([]float32(nil), st.Logits...))
}

// requireBitwise fails unless a and b hold the same float bits.
func requireBitwise(t *testing.T, want, got [][]float32, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	for i := range want {
		require.Equal(t, len(want[i]), len(got[i]), what)
		for j := range want[i] {
			if math.Float32bits(want[i][j]) != math.Float32bits(got[i][j]) {
				t.Fatalf("%s: output %d element %d is %v, unpacked %v", what, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestPackWeights checks that packing the dense weights into a mapped file
// changes no bit of any output, that a second model reuses the file, and
// that a file that does not fit is written anew, with the reason.
func TestPackWeights(t *testing.T) {
	if _, shape := kernels.PackedBLayout(48, 48); shape == nil {
		t.Skipf("the %s kernels have no packed layout", kernels.Active())
	}
	cfg := packConfig()
	ckdir := filepath.Join(t.TempDir(), "ckpt")
	m, key := packModel(t, ckdir, cfg)
	want := packForward(t, m)
	path := filepath.Join(t.TempDir(), "cache", "packed.safetensors")

	st, err := m.PackWeights(path, key)
	require.NoError(t, err)
	assert.Equal(t, PackStats{Path: path, Variant: kernels.Active(), Tensors: 6*cfg.NumLayers + 1, Bytes: st.Bytes, Written: true, Why: "no file yet"}, st)
	assert.Greater(t, st.Bytes, int64(4*(cfg.NumLayers*(4*48*48+2*48*300)+48*48)), "packed weights are at least the weights")
	for _, l := range m.packedLinears() {
		require.True(t, l.Packed.Packed(), l.W.Name)
	}
	requireBitwise(t, want, packForward(t, m), "packed from a new file")

	// A second model over the same checkpoint maps the file as it is.
	m2, key2 := packModel(t, ckdir, cfg)
	require.Equal(t, key, key2)
	st2, err := m2.PackWeights(path, key)
	require.NoError(t, err)
	assert.False(t, st2.Written, st2.Why)
	requireBitwise(t, want, packForward(t, m2), "packed from the existing file")
	require.NoError(t, m2.Unpack())
	requireBitwise(t, want, packForward(t, m2), "after Unpack")

	// Files that must not be used: each is rewritten, and the outputs stay.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	tests := []struct {
		name string
		file func() []byte // nil: remove the file
		key  string
		why  string
	}{
		{"other key", func() []byte { return data }, key + "x", "made for other weights"},
		{"missing", nil, key, "no file yet"},
		{"truncated", func() []byte { return data[:len(data)-100] }, key, "safetensors"},
		{"changed value", func() []byte {
			d := append([]byte(nil), data...)
			d[len(d)-1] ^= 0x40 // the last float of the last tensor: always sampled
			return d
		}, key, "the source has"},
		{"other variant", func() []byte {
			return rewriteMetadata(t, data, map[string]string{"format": packFormat, "version": packVersion, "variant": "neon", "key": key})
		}, key, "made for the neon kernels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.Remove(path))
			if tc.file != nil {
				require.NoError(t, os.WriteFile(path, tc.file(), 0o644))
			}
			st, err := m.PackWeights(path, tc.key)
			require.NoError(t, err)
			assert.True(t, st.Written)
			assert.Contains(t, st.Why, tc.why)
			requireBitwise(t, want, packForward(t, m), tc.name)
			st, err = m.PackWeights(path, tc.key)
			require.NoError(t, err)
			assert.False(t, st.Written, "the rewritten file is reused: %s", st.Why)
		})
	}

	// Files that are not packed weights are never replaced (a mistyped
	// --pack used to overwrite a model or any other file).
	for name, file := range map[string][]byte{
		"a model":   rewriteMetadata(t, data, map[string]string{"format": "pt"}),
		"any file":  []byte("my notes\n"),
		"no header": {},
	} {
		require.NoError(t, os.WriteFile(path, file, 0o644))
		_, err := m.PackWeights(path, key)
		require.ErrorContains(t, err, "not a petl packed-weights file", name)
		require.ErrorContains(t, err, path, name)
		after, rerr := os.ReadFile(path)
		require.NoError(t, rerr)
		require.Equal(t, file, after, "%s is unchanged", name)
	}
}

// rewriteMetadata returns the safetensors file data with its metadata
// replaced (tensors and values unchanged).
func rewriteMetadata(t *testing.T, data []byte, md map[string]string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.safetensors")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	f, err := safetensors.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		v, err := f.Float32(name)
		require.NoError(t, err)
		info, _ := f.Info(name)
		ts = append(ts, safetensors.F32Tensor(name, info.Shape, v))
	}
	out, err := safetensors.Encode(ts, md)
	require.NoError(t, err)
	return out
}

// TestPackWeightsHeapAndTrainable checks packing on the heap, that a
// trainable weight is refused, and that a weight made trainable after
// packing is multiplied unpacked (its packing would be stale).
func TestPackWeightsHeapAndTrainable(t *testing.T) {
	cfg := packConfig()
	m, err := NewRandom(cfg, 2, 3)
	require.NoError(t, err)
	want := packForward(t, m)
	st, err := m.PackWeights("", "")
	require.NoError(t, err)
	if _, shape := kernels.PackedBLayout(48, 48); shape == nil {
		assert.Zero(t, st.Tensors)
		return
	}
	assert.Equal(t, 6*cfg.NumLayers+1, st.Tensors)
	assert.False(t, st.Written)
	requireBitwise(t, want, packForward(t, m), "packed on the heap")

	q := m.Layers[0].Query.W
	m.SetTrainable(q, true)
	q.W[0] += 0.5
	changed := packForward(t, m)
	require.NoError(t, m.Unpack())
	requireBitwise(t, changed, packForward(t, m), "a weight made trainable after packing")
	assert.NotEqual(t, want[1], changed[1], "the change reaches layer 0's output")

	_, err = m.PackWeights("", "")
	require.ErrorContains(t, err, "encoder.layer.0.attention.self.query.weight is trainable")
	_, err = m.PackWeights(filepath.Join(t.TempDir(), "p"), "")
	require.Error(t, err)
}

// TestPackWeightsOtherVariant checks that packed weights are left alone by a
// kernel variant they were not packed for, with the same outputs.
func TestPackWeightsOtherVariant(t *testing.T) {
	defer kernels.SetVariant(kernels.Active())
	m, err := NewRandom(packConfig(), 2, 4)
	require.NoError(t, err)
	_, err = m.PackWeights("", "")
	require.NoError(t, err)
	require.NoError(t, kernels.SetVariant(kernels.Generic))
	want := packForward(t, m) // packed for the best variant, run on the reference
	require.NoError(t, m.Unpack())
	requireBitwise(t, want, packForward(t, m), "generic kernels")
}
