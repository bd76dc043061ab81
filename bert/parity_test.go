package bert

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/petl-go/petl/internal/splitmix"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
)

// Parity with PyTorch. scripts/bert_fixtures.py builds BERT from torch
// primitives and wrote, under testdata/{tiny,odd,base}, the expected hidden
// states of every layer, the pooled output, the logits and the loss for a
// batch of GLUE sentences with padding (and, for tiny and odd, the gradients
// that the backward pass will be checked against). The weights are the
// script's counter-based SplitMix64 stream, reproduced here bit for bit by
// syntheticTensor; odd's checkpoint was written by the script itself.

const parityTol = 1e-4 // max abs difference allowed on every compared tensor

// syntheticTensor is the fixture script's weight stream (see its module
// comment): w_i = base + float32(scale * u_i), u_i uniform in [-1, 1) with 24
// bits, from SplitMix64 keyed by the seed and the tensor's name.
func syntheticTensor(seed uint64, name string, n int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(name))
	key := seed ^ h.Sum64()
	base, scale := float32(0), float32(0.08)
	switch {
	case strings.HasSuffix(name, "LayerNorm.weight"):
		base, scale = 1, 0.2
	case strings.HasSuffix(name, ".bias"):
		scale = 0.1
	}
	w := make([]float32, n)
	for i := range w {
		z := splitmix.Mix64(key + uint64(i+1)*0x9E3779B97F4A7C15)
		u := float32(int32(z>>40)*2-(1<<24)) * (1.0 / (1 << 24))
		w[i] = base + float32(scale*u) // the conversion forbids fusing into an FMA
	}
	return w
}

// syntheticTensors returns every tensor of cfg's base model and of a
// classifier of numLabels, from the stream.
func syntheticTensors(cfg Config, numLabels int, seed uint64) []safetensors.Tensor {
	shapes := cfg.BaseTensors()
	shapes = append(shapes, ExpectedTensor{"classifier.weight", []int{numLabels, cfg.HiddenSize}},
		ExpectedTensor{"classifier.bias", []int{numLabels}})
	ts := make([]safetensors.Tensor, len(shapes))
	for i, e := range shapes {
		ts[i] = safetensors.F32Tensor(e.Name, e.Shape, syntheticTensor(seed, e.Name, prod(e.Shape)))
	}
	return ts
}

// openCheckpoint opens (memory-maps and verifies) the checkpoint in dir.
func openCheckpoint(t testing.TB, dir string) *Checkpoint {
	t.Helper()
	ck, err := OpenCheckpoint(dir)
	require.NoError(t, err)
	t.Cleanup(func() { ck.Close() })
	return ck
}

// fixture is one shape's expected outputs.
type fixture struct {
	dir   string
	cfg   Config
	exp   *safetensors.File
	seed  uint64
	batch *Batch
}

func loadFixture(t testing.TB, name string) *fixture {
	t.Helper()
	dir := filepath.Join("testdata", name)
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	exp, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { exp.Close() })
	seed, err := strconv.ParseUint(exp.Metadata()["seed"], 10, 64)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(MaskValue), exp.Metadata()["mask_value"][:len(strconv.Itoa(MaskValue))], "the fixture's padding mask value")

	info, ok := exp.Info("input_ids")
	require.True(t, ok)
	B, T := info.Shape[0], info.Shape[1]
	ids, err := exp.Int64("input_ids")
	require.NoError(t, err)
	types, err := exp.Int64("token_type_ids")
	require.NoError(t, err)
	am, err := exp.Int64("attention_mask")
	require.NoError(t, err)
	b := &Batch{B: B, T: T, IDs: make([]int32, B*T), TypeIDs: make([]int32, B*T), Mask: make([]float32, B*T), Lens: make([]int, B)}
	for i := range ids {
		b.IDs[i], b.TypeIDs[i], b.Mask[i] = int32(ids[i]), int32(types[i]), float32(am[i])
		b.Lens[i/T] += int(am[i])
	}
	return &fixture{dir: dir, cfg: cfg, exp: exp, seed: seed, batch: b}
}

// source returns the fixture's weights as a mapped checkpoint: the committed
// one if there is one, else the stream written to a temporary folder.
func (f *fixture) source(t testing.TB) *Checkpoint {
	if _, err := os.Stat(filepath.Join(f.dir, WeightsFileName)); err == nil {
		return openCheckpoint(t, f.dir)
	}
	dir := t.TempDir()
	require.NoError(t, WriteCheckpoint(dir, f.cfg, syntheticTensors(f.cfg, f.cfg.NumLabels, f.seed)))
	return openCheckpoint(t, dir)
}

func (f *fixture) want(t testing.TB, name string) []float32 {
	t.Helper()
	w, err := f.exp.Float32(name)
	require.NoError(t, err, name)
	return w
}

// compare logs the max abs difference of got against the fixture's tensor
// and fails above parityTol.
func compare(t *testing.T, name string, got, want []float32) {
	t.Helper()
	require.Len(t, got, len(want), name)
	d, m := maxDiff(got, want)
	t.Logf("%-16s max|diff| %.3g   (max|ref| %.3g)", name, d, m)
	if d > parityTol {
		t.Errorf("%s: max abs difference %g from PyTorch, want <= %g", name, d, parityTol)
	}
}

// houlsby is a minimal bottleneck adapter for the parity test: y = x +
// up(GELU(down(x))).
type houlsby struct {
	down, up nn.Linear
}

func (h *houlsby) Forward(y, x []float32, rows int, ar *nn.Arena, train bool) {
	m := ar.Mark()
	z, g := ar.Alloc(rows*h.down.Out), ar.Alloc(rows*h.down.Out)
	h.down.ForwardGELU(g, z, x, rows)
	h.up.Forward(y, g, rows)
	kernels.Add(y[:rows*h.up.Out], y[:rows*h.up.Out], x[:rows*h.up.Out])
	ar.Release(m)
}

// Backward recomputes the bottleneck activations from x, then
// dx += dy + down'(up'(dy)).
func (h *houlsby) Backward(dx, dy, x []float32, rows int, ar *nn.Arena) {
	m := ar.Mark()
	n, k := rows*h.up.Out, rows*h.down.Out
	z, g := ar.Alloc(k), ar.Alloc(k)
	h.down.ForwardGELU(g, z, x, rows)
	kernels.Add(dx[:n], dx[:n], dy[:n])
	dg, dz := ar.AllocZero(k), ar.Alloc(k)
	h.up.Backward(dg, dy, g, rows)
	kernels.GELUBackward(dz, dg, z)
	h.down.Backward(dx, dz, x, rows)
	ar.Release(m)
}

// adapters attaches the fixture's Houlsby adapters to every layer, with
// trainable parameters when train is set.
func (f *fixture) adapters(t *testing.T, m *Model, train bool) []*nn.Param {
	var params []*nn.Param
	size, err := strconv.Atoi(f.exp.Metadata()["adapter_size"])
	require.NoError(t, err)
	C := f.cfg.HiddenSize
	lin := func(prefix string, in, out int) nn.Linear {
		p := func(n string, shape ...int) *nn.Param {
			q := &nn.Param{Name: prefix + n, Shape: shape, W: f.want(t, prefix+n), Frozen: true}
			q.SetTrainable(train, true)
			params = append(params, q)
			return q
		}
		l, err := nn.NewLinear(p(".weight", out, in), p(".bias", out), in, out)
		require.NoError(t, err)
		return l
	}
	for l := range m.Layers {
		for _, sub := range []string{"attention.output", "output"} {
			pre := fmt.Sprintf("encoder.layer.%d.%s.adapter.", l, sub)
			ad := &houlsby{down: lin(pre+"down", C, size), up: lin(pre+"up", size, C)}
			if sub == "output" {
				m.Layers[l].FFAdapter = ad
			} else {
				m.Layers[l].AttnAdapter = ad
			}
		}
	}
	return params
}

func TestParity(t *testing.T) {
	for _, name := range []string{"tiny", "odd", "base"} {
		t.Run(name, func(t *testing.T) {
			if name == "base" && raceEnabled {
				t.Skip("BERT-base parity runs without -race (make test runs it in test-bert-base)")
			}
			f := loadFixture(t, name)
			src := f.source(t)
			for _, name := range src.Names() { // the weights are the mapped file, not copies
				info, _ := src.Info(name)
				require.True(t, info.ZeroCopy, "%s is not a slice of the mapping", name)
			}
			m, err := New(f.cfg, src)
			require.NoError(t, err)
			require.NoError(t, m.LoadClassifier(src, f.cfg.NumLabels))

			st := &State{KeepHidden: true}
			require.NoError(t, m.Forward(st, f.batch))
			t.Logf("B=%d T=%d lens=%v", f.batch.B, f.batch.T, f.batch.Lens)
			for i, h := range st.Hidden {
				compare(t, fmt.Sprintf("hidden.%d", i), h, f.want(t, fmt.Sprintf("hidden.%d", i)))
			}
			compare(t, "pooled", st.Pooled, f.want(t, "pooled"))
			compare(t, "logits", st.Logits, f.want(t, "logits"))
			// Only the [CLS] rows through the last layer: the same pooled output and logits.
			cls := &State{CLSOnly: true}
			require.NoError(t, m.Forward(cls, f.batch))
			require.Len(t, cls.Hidden[len(m.Layers)], f.batch.B*f.cfg.HiddenSize)
			compare(t, "cls-only pooled", cls.Pooled, f.want(t, "pooled"))
			compare(t, "cls-only logits", cls.Logits, f.want(t, "logits"))
			if _, ok := f.exp.Info("loss"); ok {
				labels := f.labels(t)
				probs := make([]float32, len(st.Logits))
				loss := nn.CrossEntropy{}.Forward(probs, st.Logits, labels, f.batch.B, m.NumLabels())
				compare(t, "loss", []float32{loss}, f.want(t, "loss"))
			}
			if _, ok := f.exp.Info("adapter.logits"); !ok {
				return
			}
			// The same model with Houlsby adapters at both insertion points.
			f.adapters(t, m, false)
			require.NoError(t, m.Forward(st, f.batch))
			for i, h := range st.Hidden {
				compare(t, fmt.Sprintf("adapter.hidden.%d", i), h, f.want(t, fmt.Sprintf("adapter.hidden.%d", i)))
			}
			compare(t, "adapter.logits", st.Logits, f.want(t, "adapter.logits"))
			require.NoError(t, m.Forward(cls, f.batch))
			compare(t, "cls-only adapter.logits", cls.Logits, f.want(t, "adapter.logits"))
		})
	}
}

func (f *fixture) labels(t testing.TB) []int32 {
	l, err := f.exp.Int64("labels")
	require.NoError(t, err)
	out := make([]int32, len(l))
	for i, v := range l {
		out[i] = int32(v)
	}
	return out
}

// TestSyntheticStream checks that syntheticTensor reproduces the fixture
// script's stream bit for bit, on the checkpoint the script wrote.
func TestSyntheticStream(t *testing.T) {
	f := loadFixture(t, "odd")
	ck, err := safetensors.Open(filepath.Join(f.dir, "model.safetensors"))
	require.NoError(t, err)
	defer ck.Close()
	names := ck.Names()
	require.NotEmpty(t, names)
	for _, name := range names {
		w, err := ck.Float32(name)
		require.NoError(t, err)
		got := syntheticTensor(f.seed, name, len(w))
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%s[%d]: stream gives %v, the script wrote %v", name, i, got[i], w[i])
			}
		}
	}
}

// TestGradientParity checks Backward against PyTorch autograd: the
// gradient of the mean cross-entropy with respect to every parameter, for
// full fine-tuning and for adapter training (adapters, layer norms and the
// classifier trained), dropout off, through every row of the last layer
// and through its [CLS] rows alone (State.CLSOnly). Tolerance: max abs
// difference at most 1e-4 of the tensor's largest magnitude.
func TestGradientParity(t *testing.T) {
	for _, name := range []string{"tiny", "odd"} {
		for _, tc := range []struct {
			mode    string
			clsOnly bool
		}{{"full", false}, {"adapter", false}, {"full", true}, {"adapter", true}} {
			mode := tc.mode
			t.Run(fmt.Sprintf("%s/%s/cls-only=%v", name, mode, tc.clsOnly), func(t *testing.T) {
				f := loadFixture(t, name)
				cfg := f.cfg
				cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
				src := f.source(t)
				m, err := New(cfg, src)
				require.NoError(t, err)
				require.NoError(t, m.LoadClassifier(src, cfg.NumLabels))
				params := m.Params()
				for _, p := range params {
					m.SetTrainable(p, mode == "full" || isLayerNorm(p.Name) || strings.HasPrefix(p.Name, "classifier."))
				}
				if mode == "adapter" {
					params = append(params, f.adapters(t, m, true)...)
				}
				st := &State{Train: true, CLSOnly: tc.clsOnly}
				require.NoError(t, m.Forward(st, f.batch))
				labels := f.labels(t)
				B, L := f.batch.B, m.NumLabels()
				probs, dlogits := make([]float32, B*L), make([]float32, B*L)
				loss := nn.CrossEntropy{}.Forward(probs, st.Logits, labels, B, L)
				prefix := ""
				if mode == "adapter" {
					prefix = "adapter."
				}
				compare(t, prefix+"loss", []float32{loss}, f.want(t, prefix+"loss"))
				nn.CrossEntropy{}.Backward(dlogits, probs, labels, B, L, 1)
				require.NoError(t, m.Backward(st, dlogits))
				n := 0
				for _, p := range params {
					ref := "grad." + mode + "." + p.Name
					if _, ok := f.exp.Info(ref); !ok {
						require.False(t, p.Trainable(), "%s is trained but PyTorch has no gradient for it", p.Name)
						continue
					}
					require.True(t, p.Trainable(), "%s has a PyTorch gradient but is frozen", p.Name)
					compareRel(t, p.Name, p.G, f.want(t, ref))
					n++
				}
				t.Logf("%d gradients compared", n)
				require.Positive(t, n)
			})
		}
	}
}

// compareRel logs and checks max|got-want| <= 1e-4 * max|want| + 1e-8. The
// absolute 1e-8 is for gradients that are zero in exact arithmetic (the key
// bias: softmax ignores a shift that is the same for every key), where
// float32 leaves rounding noise around 1e-10 and "relative" means nothing.
func compareRel(t *testing.T, name string, got, want []float32) {
	t.Helper()
	require.Len(t, got, len(want), name)
	d, m := maxDiff(got, want)
	t.Logf("%-52s max|diff| %.3g  max|ref| %.3g  rel %.3g", name, d, m, d/max(m, 1e-30))
	if d > 1e-4*m+1e-8 {
		t.Errorf("%s: max abs difference %g is more than 1e-4 of the largest magnitude %g", name, d, m)
	}
}

// maxDiff returns max|got-want| (+Inf where got is NaN) and max|want|.
func maxDiff(got, want []float32) (d, m float64) {
	for i, w := range want {
		d = max(d, math.Abs(float64(got[i])-float64(w)))
		m = max(m, math.Abs(float64(w)))
		if math.IsNaN(float64(got[i])) {
			d = math.Inf(1)
		}
	}
	return d, m
}
