package bert_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
)

// TestAdapterModuleGradients trains the adapter package's Houlsby modules
// hooked into the model (they keep their activations in the state's arena
// between Forward and Backward) on the odd-shape fixture, and checks every
// trained gradient against PyTorch autograd, twice in a row (the second
// step reuses the arenas).
func TestAdapterModuleGradients(t *testing.T) {
	dir := filepath.Join("testdata", "odd")
	ck, err := bert.OpenCheckpoint(dir)
	require.NoError(t, err)
	defer ck.Close()
	exp, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	require.NoError(t, err)
	defer exp.Close()
	f32 := func(name string) []float32 {
		v, err := exp.Float32(name)
		require.NoError(t, err, name)
		return v
	}
	i64 := func(name string) []int64 {
		v, err := exp.Int64(name)
		require.NoError(t, err, name)
		return v
	}

	cfg := ck.Config()
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
	m, err := bert.New(cfg, ck)
	require.NoError(t, err)
	require.NoError(t, m.LoadClassifier(ck, cfg.NumLabels))
	for _, p := range m.Params() {
		m.SetTrainable(p, strings.Contains(p.Name, "LayerNorm") || strings.HasPrefix(p.Name, "classifier."))
	}
	down, ok := exp.Info("encoder.layer.0.output.adapter.down.weight")
	require.True(t, ok)
	set, err := adapter.Attach(m, adapter.Config{Size: down.Shape[0]}, 1)
	require.NoError(t, err)
	for _, p := range set.Params() {
		copy(p.W, f32(p.Name)) // the fixture's adapter weights
	}

	ids, types, am, labels64 := i64("input_ids"), i64("token_type_ids"), i64("attention_mask"), i64("labels")
	B, T := len(labels64), len(ids)/len(labels64)
	batch := &bert.Batch{B: B, T: T, IDs: make([]int32, B*T), TypeIDs: make([]int32, B*T), Mask: make([]float32, B*T), Lens: make([]int, B)}
	for i := range ids {
		batch.IDs[i], batch.TypeIDs[i], batch.Mask[i] = int32(ids[i]), int32(types[i]), float32(am[i])
		batch.Lens[i/T] += int(am[i])
	}
	labels := make([]int32, B)
	for i, v := range labels64 {
		labels[i] = int32(v)
	}

	st := &bert.State{Train: true}
	trained := append(m.Params(), set.Params()...)
	for step := 1; step <= 2; step++ {
		for _, p := range trained {
			p.ZeroGrad()
		}
		require.NoError(t, m.Forward(st, batch))
		L := m.NumLabels()
		probs, dlogits := make([]float32, B*L), make([]float32, B*L)
		loss := nn.CrossEntropy{}.Forward(probs, st.Logits, labels, B, L)
		require.InDelta(t, f32("adapter.loss")[0], loss, 1e-5)
		nn.CrossEntropy{}.Backward(dlogits, probs, labels, B, L, 1)
		require.NoError(t, m.Backward(st, dlogits))
		n := 0
		for _, p := range trained {
			if !p.Trainable() {
				continue
			}
			want := f32("grad.adapter." + p.Name)
			var d, mx float64
			for i, w := range want {
				d = max(d, math.Abs(float64(p.G[i])-float64(w)))
				mx = max(mx, math.Abs(float64(w)))
			}
			if step == 1 {
				t.Logf("%-50s max|diff| %.3g  max|ref| %.3g", p.Name, d, mx)
			}
			require.LessOrEqual(t, d, 1e-4*mx+1e-8, "step %d: %s", step, p.Name)
			n++
		}
		require.Equal(t, 4*len(set.Modules)+4*cfg.NumLayers+4, n, "adapters, layer norms (embeddings' too) and the head")
	}
}
