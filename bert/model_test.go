package bert

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// tinyConfig is a small valid configuration for model tests.
func tinyConfig() Config {
	return Config{VocabSize: 50, HiddenSize: 24, NumLayers: 2, NumHeads: 3, IntermediateSize: 40,
		MaxPositions: 16, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12,
		HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
}

// testBatch returns a batch of B sequences padded to T with lengths lens.
func testBatch(B, T int, lens []int, seed uint64) *Batch {
	rng := nn.NewRNG(seed)
	b := &Batch{B: B, T: T, IDs: make([]int32, B*T), TypeIDs: make([]int32, B*T), Mask: make([]float32, B*T), Lens: lens}
	for i := 0; i < B; i++ {
		for t := 0; t < lens[i]; t++ {
			b.IDs[i*T+t] = int32(1 + rng.Uint64()%49)
			b.Mask[i*T+t] = 1
			if t > lens[i]/2 {
				b.TypeIDs[i*T+t] = 1
			}
		}
	}
	return b
}

func TestForwardAllocatesNothing(t *testing.T) {
	small, err := NewRandom(tinyConfig(), 3, 1)
	require.NoError(t, err)
	cfg := tinyConfig() // BERT-tiny's widths, large enough for the kernels to split work
	cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize, cfg.MaxPositions = 128, 2, 512, 64
	tiny, err := NewRandom(cfg, 2, 1)
	require.NoError(t, err)
	packed, err := NewRandom(cfg, 2, 1)
	require.NoError(t, err)
	_, err = packed.PackWeights("", "")
	require.NoError(t, err)
	for _, tc := range []struct {
		name       string
		m          *Model
		keepHidden bool
		threads    int
		B, T       int
	}{
		{"inference", small, false, 1, 4, 12},
		{"keep-hidden", small, true, 1, 4, 12},
		{"tiny-1-thread", tiny, false, 1, 8, 64},
		{"tiny-cls-only", tiny, false, 1, 8, 64},
		{"tiny-2-threads", tiny, false, 2, 8, 64},
		{"tiny-packed", packed, false, 1, 8, 64},
		{"tiny-packed-2-threads", packed, false, 2, 1, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer kernels.SetThreads(kernels.Threads())
			kernels.SetThreads(tc.threads)
			st := &State{KeepHidden: tc.keepHidden, CLSOnly: strings.HasSuffix(tc.name, "cls-only")}
			m := tc.m
			lens := []int{tc.T, 3, 7, 1, tc.T / 2, tc.T, 2, 9}[:tc.B]
			big, small := testBatch(tc.B, tc.T, lens, 1), testBatch(2, 5, []int{5, 2}, 2)
			require.NoError(t, m.Forward(st, big))
			allocs := testing.AllocsPerRun(5, func() {
				if err := m.Forward(st, big); err != nil {
					panic(err)
				}
				if err := m.Forward(st, small); err != nil { // a smaller batch fits the arena
					panic(err)
				}
			})
			t.Logf("allocations per steady-state pair of forward passes: %v (arena %d + scratch %d floats)", allocs, st.Arena.Cap(), st.Scratch.Cap())
			if raceEnabled {
				return // the race runtime's own allocations make counts meaningless
			}
			require.Zero(t, allocs)
		})
	}
}

// TestForwardPaddingInvariance checks that padding does not change the real
// tokens' outputs: a sequence alone gives the same hidden states as in a
// batch where it is padded, and the same pooled output.
func TestForwardPaddingInvariance(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 2, 7)
	require.NoError(t, err)
	batch := testBatch(3, 10, []int{10, 4, 7}, 3)
	st := &State{}
	require.NoError(t, m.Forward(st, batch))
	C := m.Config.HiddenSize
	for b, n := range batch.Lens {
		one := &Batch{B: 1, T: n, IDs: batch.IDs[b*10 : b*10+n], TypeIDs: batch.TypeIDs[b*10 : b*10+n], Mask: batch.Mask[b*10 : b*10+n], Lens: []int{n}}
		st1 := &State{}
		require.NoError(t, m.Forward(st1, one))
		last := st.Hidden[len(m.Layers)][b*10*C : (b*10+n)*C]
		requireNear(t, st1.Hidden[len(m.Layers)], last, 1e-5, "hidden states of sequence %d", b)
		requireNear(t, st1.Pooled, st.Pooled[b*C:(b+1)*C], 1e-5, "pooled output of sequence %d", b)
		requireNear(t, st1.Logits, st.Logits[b*2:(b+1)*2], 1e-5, "logits of sequence %d", b)
	}
}

// TestCLSOnly checks that computing only the [CLS] rows in the last layer
// gives the pooled output and logits of the full pass.
func TestCLSOnly(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 3, 12)
	require.NoError(t, err)
	batch := testBatch(4, 11, []int{11, 4, 7, 1}, 13)
	full, cls := &State{}, &State{CLSOnly: true}
	require.NoError(t, m.Forward(full, batch))
	require.NoError(t, m.Forward(cls, batch))
	requireNear(t, cls.Pooled, full.Pooled, 1e-6, "pooled")
	requireNear(t, cls.Logits, full.Logits, 1e-6, "logits")
	C, T := m.Config.HiddenSize, batch.T
	last := full.Hidden[len(m.Layers)]
	for b := 0; b < batch.B; b++ {
		requireNear(t, cls.Hidden[len(m.Layers)][b*C:(b+1)*C], last[b*T*C:b*T*C+C], 1e-6, "[CLS] row of sequence %d", b)
	}
	// KeepHidden computes every row.
	keep := &State{CLSOnly: true, KeepHidden: true}
	require.NoError(t, m.Forward(keep, batch))
	require.Len(t, keep.Hidden[len(m.Layers)], batch.B*T*C)
}

func requireNear(t *testing.T, got, want []float32, tol float64, msg string, args ...any) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.InDelta(t, want[i], got[i], tol, append([]any{msg + " [%d]"}, append(args, i)...)...)
	}
}

func TestForwardThreadsBitwise(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 2, 9)
	require.NoError(t, err)
	batch := testBatch(3, 16, []int{16, 9, 2}, 5)
	defer kernels.SetThreads(kernels.Threads())
	var outs [][]float32
	for _, n := range []int{1, 2, 3} {
		kernels.SetThreads(n)
		st := &State{}
		require.NoError(t, m.Forward(st, batch))
		outs = append(outs, append([]float32(nil), st.Hidden[len(m.Layers)]...))
	}
	require.Equal(t, outs[0], outs[1], "1 and 2 threads")
	require.Equal(t, outs[0], outs[2], "1 and 3 threads")
}

func TestForwardErrors(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 0, 1)
	require.NoError(t, err)
	require.Nil(t, m.Classifier)
	good := testBatch(1, 4, []int{4}, 1)
	for _, tc := range []struct {
		name  string
		batch *Batch
		want  string
	}{
		{"empty", &Batch{}, "empty batch"},
		{"too long", testBatch(1, 17, []int{17}, 1), "longer than the model's 16 positions"},
		{"short ids", &Batch{B: 1, T: 4, IDs: good.IDs[:3], Mask: good.Mask}, "has 3 ids"},
		{"bad id", &Batch{B: 1, T: 4, IDs: []int32{1, 2, 50, 3}, Mask: good.Mask}, "id 50 at position 2"},
		{"bad type", &Batch{B: 1, T: 4, IDs: good.IDs, TypeIDs: []int32{0, 2, 0, 0}, Mask: good.Mask}, "type ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Forward(&State{}, tc.batch)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	// Without type ids every token is of type 0.
	st := &State{}
	noTypes := &Batch{B: 1, T: 4, IDs: good.IDs, Mask: good.Mask}
	require.NoError(t, m.Forward(st, noTypes))
	zeros := &Batch{B: 1, T: 4, IDs: good.IDs, TypeIDs: make([]int32, 4), Mask: good.Mask}
	st2 := &State{}
	require.NoError(t, m.Forward(st2, zeros))
	require.Equal(t, st.Pooled, st2.Pooled)
	require.Nil(t, st.Logits)
}

func TestNewRandomInit(t *testing.T) {
	cfg := tinyConfig()
	cfg.VocabSize, cfg.HiddenSize, cfg.NumHeads = 400, 64, 4
	m, err := NewRandom(cfg, 2, 3)
	require.NoError(t, err)
	ps := m.Params()
	want := cfg.BaseTensors()
	require.Len(t, ps, len(want)+2)
	for i, e := range want {
		require.Equal(t, e.Name, ps[i].Name)
		require.Equal(t, e.Shape, ps[i].Shape)
		require.Len(t, ps[i].W, prod(e.Shape))
	}
	for _, p := range ps {
		switch {
		case isLayerNorm(p.Name) && strings.HasSuffix(p.Name, ".weight"):
			require.Equal(t, float32(1), p.W[0], p.Name)
			require.True(t, p.NoDecay)
		case strings.HasSuffix(p.Name, ".bias"):
			require.Equal(t, make([]float32, p.Len()), p.W, p.Name)
			require.True(t, p.NoDecay)
		default:
			var s, ss float64
			for _, v := range p.W {
				s += float64(v)
				ss += float64(v) * float64(v)
			}
			n := float64(p.Len())
			require.InDelta(t, 0.02, math.Sqrt(ss/n-(s/n)*(s/n)), 0.004, p.Name)
			require.False(t, p.NoDecay)
		}
	}
	require.Equal(t, make([]float32, cfg.HiddenSize), m.Embeddings.Word.W.W[:cfg.HiddenSize], "[PAD] embedding is zero")
	require.False(t, m.ReadOnlyWeights())
	require.True(t, m.Classifier.W.Trainable(), "a new head is trainable")
	require.False(t, m.Layers[0].Query.W.Trainable(), "the base starts frozen")
}

// TestNewUsesSourceMemory checks that New keeps the source's slices (no
// copy) and that an inconsistent source is a clear error.
func TestNewUsesSourceMemory(t *testing.T) {
	cfg := tinyConfig()
	src := mapSource{}
	for _, e := range cfg.BaseTensors() {
		src[e.Name] = make([]float32, prod(e.Shape))
	}
	m, err := New(cfg, src)
	require.NoError(t, err)
	require.True(t, m.ReadOnlyWeights())
	for _, p := range m.Params() {
		require.Same(t, &src[p.Name][0], &p.W[0], p.Name)
		require.True(t, p.Frozen)
	}
	// Making a base weight trainable copies it off the (possibly read-only) source.
	q := m.Layers[1].Query.W
	m.SetTrainable(q, true)
	require.NotSame(t, &src[q.Name][0], &q.W[0])
	require.Len(t, q.G, q.Len())

	delete(src, "encoder.layer.1.output.dense.bias")
	_, err = New(cfg, src)
	require.ErrorContains(t, err, "encoder.layer.1.output.dense.bias")
}

type mapSource map[string][]float32

func (s mapSource) Tensor(name string, shape ...int) ([]float32, error) {
	w, ok := s[name]
	if !ok {
		return nil, &missingError{name}
	}
	if len(w) != prod(shape) {
		return nil, &missingError{name + " (wrong size)"}
	}
	return w, nil
}

type missingError struct{ name string }

func (e *missingError) Error() string { return "no tensor " + e.name }

// TestTrainStepAllocatesNothing runs forward and backward in training mode
// (dropout on, every parameter trainable) and checks that steady-state steps
// allocate nothing and that gradients accumulate across steps.
func TestTrainStepAllocatesNothing(t *testing.T) {
	for _, clsOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("cls-only=%v", clsOnly), func(t *testing.T) { testTrainStepAllocs(t, clsOnly) })
	}
}

// trainableModel is NewRandom(cfg, numLabels, seed) with every parameter
// trainable.
func trainableModel(t *testing.T, cfg Config, numLabels int, seed uint64) *Model {
	t.Helper()
	m, err := NewRandom(cfg, numLabels, seed)
	require.NoError(t, err)
	for _, p := range m.Params() {
		m.SetTrainable(p, true)
	}
	return m
}

func testTrainStepAllocs(t *testing.T, clsOnly bool) {
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(1)
	m := trainableModel(t, tinyConfig(), 3, 4)
	batch := testBatch(4, 12, []int{12, 3, 7, 1}, 1)
	labels := []int32{0, 2, 1, 1}
	st := &State{Train: true, CLSOnly: clsOnly, RNG: *nn.NewRNG(5)}
	probs, dlogits := make([]float32, 4*3), make([]float32, 4*3)
	step := func() {
		if err := m.Forward(st, batch); err != nil {
			panic(err)
		}
		nn.CrossEntropy{}.Forward(probs, st.Logits, labels, 4, 3)
		clear(dlogits)
		nn.CrossEntropy{}.Backward(dlogits, probs, labels, 4, 3, 1)
		if err := m.Backward(st, dlogits); err != nil {
			panic(err)
		}
	}
	step()
	step()
	allocs := testing.AllocsPerRun(5, step)
	t.Logf("allocations per steady-state training step: %v (arena %d + scratch %d floats)", allocs, st.Arena.Cap(), st.Scratch.Cap())
	if !raceEnabled {
		require.Zero(t, allocs)
	}
	var norm float64
	for _, p := range m.Params() {
		for _, g := range p.G {
			norm += float64(g) * float64(g)
		}
	}
	require.Positive(t, norm, "gradients accumulated")
	require.False(t, math.IsNaN(norm))
}

// TestDropoutOnlyInTraining checks that dropout changes the outputs in
// training mode only, and that training mode with dropout off computes
// what inference computes.
func TestDropoutOnlyInTraining(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 2, 6)
	require.NoError(t, err)
	batch := testBatch(2, 8, []int{8, 5}, 2)
	eval, train := &State{}, &State{Train: true, RNG: *nn.NewRNG(1)}
	require.NoError(t, m.Forward(eval, batch))
	require.NoError(t, m.Forward(train, batch))
	require.NotEqual(t, eval.Logits, train.Logits, "dropout is on in training")

	cfg := m.Config
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
	m0, err := NewRandom(cfg, 2, 6)
	require.NoError(t, err)
	train0 := &State{Train: true}
	require.NoError(t, m0.Forward(train0, batch))
	require.Equal(t, eval.Logits, train0.Logits)

	require.ErrorContains(t, m.Backward(eval, make([]float32, 4)), "training mode")
}

// TestBackwardWithDropout checks Backward with every dropout on (embeddings,
// attention probabilities, both hidden dropouts, head) against central
// finite differences of the float32 loss, the masks held fixed by
// restarting the generator for every forward. Backward regenerates the
// masks from copies of the generator, so a mask that differed from the
// forward's would show as an O(1) error. For each parameter tensor the
// element of largest gradient is checked.
func TestBackwardWithDropout(t *testing.T) {
	cfg := tinyConfig()
	cfg.HiddenDropout, cfg.AttentionDropout, cfg.InitializerRange = 0.2, 0.2, 0.2
	m := trainableModel(t, cfg, 3, 11)
	batch := testBatch(3, 7, []int{7, 4, 2}, 8)
	labels := []int32{2, 0, 1}
	st := &State{Train: true}
	probs := make([]float32, 3*3)
	loss := func() float64 {
		st.RNG = *nn.NewRNG(99)
		require.NoError(t, m.Forward(st, batch))
		return float64(nn.CrossEntropy{}.Forward(probs, st.Logits, labels, 3, 3))
	}
	loss()
	dlogits := make([]float32, 3*3)
	nn.CrossEntropy{}.Backward(dlogits, probs, labels, 3, 3, 1)
	require.NoError(t, m.Backward(st, dlogits))
	checked := 0
	for _, p := range m.Params() {
		best := 0
		for i, g := range p.G {
			if math.Abs(float64(g)) > math.Abs(float64(p.G[best])) {
				best = i
			}
		}
		an := float64(p.G[best])
		if math.Abs(an) < 1e-3 {
			continue // too small for float32 differences (the key biases: exactly 0)
		}
		const h = 1e-2
		old := p.W[best]
		p.W[best] = old + h
		fp := loss()
		p.W[best] = old - h
		fm := loss()
		p.W[best] = old
		fd := (fp - fm) / (2 * h)
		t.Logf("%-48s[%4d] backward %+.5f  differences %+.5f", p.Name, best, an, fd)
		require.InDelta(t, an, fd, 2e-2*math.Abs(an)+5e-4, "%s[%d]", p.Name, best)
		checked++
	}
	require.Greater(t, checked, 20)
}

// TestBackwardTopLayers checks that fine-tuning only the top layer gives
// the same gradients as when everything trains (Backward stops below it),
// and leaves the frozen layers without gradients.
func TestBackwardTopLayers(t *testing.T) {
	cfg := tinyConfig()
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0
	batch := testBatch(2, 6, []int{6, 3}, 4)
	labels := []int32{1, 0}
	grads := func(top bool) (*Model, int) {
		m, err := NewRandom(cfg, 2, 21)
		require.NoError(t, err)
		for _, p := range m.Params() {
			m.SetTrainable(p, !top || strings.HasPrefix(p.Name, "encoder.layer.1.") || strings.HasPrefix(p.Name, "pooler.") || strings.HasPrefix(p.Name, "classifier."))
		}
		st := &State{Train: true}
		require.NoError(t, m.Forward(st, batch))
		probs, dl := make([]float32, 4), make([]float32, 4)
		nn.CrossEntropy{}.Forward(probs, st.Logits, labels, 2, 2)
		nn.CrossEntropy{}.Backward(dl, probs, labels, 2, 2, 1)
		require.NoError(t, m.Backward(st, dl))
		return m, m.lowestTrained()
	}
	all, lowAll := grads(false)
	top, lowTop := grads(true)
	require.Equal(t, -1, lowAll)
	require.Equal(t, 1, lowTop)
	pa, pt := all.Params(), top.Params()
	for i, p := range pt {
		if !p.Trainable() {
			require.Nil(t, p.G, p.Name)
			continue
		}
		require.Equal(t, pa[i].G, p.G, p.Name)
	}
}

// trainLinear returns a trainable Linear of random weights and biases.
func trainLinear(rng *nn.RNG, name string, in, out int) nn.Linear {
	w := &nn.Param{Name: name + ".weight", Shape: []int{out, in}, W: make([]float32, in*out), Frozen: true}
	b := &nn.Param{Name: name + ".bias", Shape: []int{out}, W: make([]float32, out), Frozen: true}
	rng.FillNormal(w.W, 0, 0.1)
	rng.FillNormal(b.W, 0, 0.1)
	w.SetTrainable(true, false)
	b.SetTrainable(true, false)
	return nn.Linear{In: in, Out: out, W: w, B: b}
}

// TestCLSOnlyTraining checks that training through the [CLS] rows alone in
// the last layer (State.CLSOnly) gives the loss and the gradients of the
// full pass, up to rounding, for full fine-tuning, adapters (with layer
// norms and head) and the top layer alone, with dropout off and on (the
// masks on the [CLS] rows are the full pass's), over two steps, also with
// the real rows alone below (State.Unpadded); and that BackwardHidden,
// which needs every row, refuses such a pass.
func TestCLSOnlyTraining(t *testing.T) {
	for _, mode := range []string{"full", "adapter", "top", "full/unpadded", "adapter/unpadded"} {
		for _, p := range []float32{0, 0.2} {
			t.Run(fmt.Sprintf("%s/dropout=%v", mode, p), func(t *testing.T) {
				mode, unpadded := strings.CutSuffix(mode, "/unpadded")
				cfg := tinyConfig()
				cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize, cfg.NumLayers, cfg.MaxPositions = 48, 4, 96, 3, 40
				cfg.HiddenDropout, cfg.AttentionDropout = p, p
				batch := testBatch(4, 37, []int{37, 3, 20, 1}, 3)
				labels := []int32{2, 0, 1, 1}
				run := func(clsOnly bool) (*Model, []*nn.Param, []float32) {
					m, err := NewRandom(cfg, 3, 8)
					require.NoError(t, err)
					params := m.Params()
					top := fmt.Sprintf("encoder.layer.%d.", cfg.NumLayers-1)
					for _, q := range params {
						n := q.Name
						m.SetTrainable(q, mode == "full" || strings.HasPrefix(n, "classifier.") ||
							(mode == "adapter" && isLayerNorm(n)) || (mode == "top" && (strings.HasPrefix(n, top) || strings.HasPrefix(n, "pooler."))))
					}
					if mode == "adapter" {
						rng := nn.NewRNG(3)
						for l := range m.Layers {
							for _, at := range []*Adapter{&m.Layers[l].AttnAdapter, &m.Layers[l].FFAdapter} {
								h := &houlsby{down: trainLinear(rng, fmt.Sprint(l, "down"), cfg.HiddenSize, 5), up: trainLinear(rng, fmt.Sprint(l, "up"), 5, cfg.HiddenSize)}
								*at = h
								params = append(params, h.down.W, h.down.B, h.up.W, h.up.B)
							}
						}
					}
					st := &State{Train: true, CLSOnly: clsOnly, Unpadded: clsOnly && unpadded, RNG: *nn.NewRNG(17)}
					probs, dlogits := make([]float32, 4*3), make([]float32, 4*3)
					var losses []float32
					for step := 0; step < 2; step++ { // gradients of both steps accumulate
						require.NoError(t, m.Forward(st, batch))
						losses = append(losses, nn.CrossEntropy{}.Forward(probs, st.Logits, labels, 4, 3))
						clear(dlogits)
						nn.CrossEntropy{}.Backward(dlogits, probs, labels, 4, 3, 1)
						require.NoError(t, m.Backward(st, dlogits))
					}
					if clsOnly {
						require.Len(t, st.Hidden[cfg.NumLayers], 4*cfg.HiddenSize)
						require.ErrorContains(t, m.BackwardHidden(st, make([]float32, 4*37*cfg.HiddenSize)), "[CLS]")
					}
					return m, params, losses
				}
				_, full, lossFull := run(false)
				_, cls, lossCLS := run(true)
				requireNear(t, lossCLS, lossFull, 1e-6, "loss")
				n := 0
				for i, q := range cls {
					if !q.Trainable() {
						require.Nil(t, q.G, q.Name)
						continue
					}
					var d, mx float64
					for j, g := range full[i].G {
						d = max(d, math.Abs(float64(q.G[j])-float64(g)))
						mx = max(mx, math.Abs(float64(g)))
					}
					require.Positive(t, mx, "%s has a gradient", q.Name)
					require.LessOrEqual(t, d, 1e-5*mx+1e-9, "%s: max|diff| %g, max|grad| %g", q.Name, d, mx)
					n++
				}
				require.Greater(t, n, 8)
			})
		}
	}
}

// TestBackwardHiddenLogits checks the joint backward of a loss that reads
// both the final hidden states and the logits: gradients are linear in the
// upstream gradients, so it must equal Backward(dlogits) plus
// BackwardHidden(dhidden), with dropout on (the masks are regenerated).
func TestBackwardHiddenLogits(t *testing.T) {
	cfg := tinyConfig()
	cfg.HiddenDropout, cfg.AttentionDropout, cfg.InitializerRange = 0.1, 0.1, 0.2
	m := trainableModel(t, cfg, 2, 5)
	const B, T = 3, 6
	C := cfg.HiddenSize
	batch := testBatch(B, T, []int{6, 3, 5}, 4)
	rng := nn.NewRNG(17)
	dhidden := make([]float32, B*T*C)
	dlogits := make([]float32, B*2)
	rng.FillNormal(dhidden, 0, 1)
	rng.FillNormal(dlogits, 0, 1)
	st := &State{Train: true}
	run := func(backward func() error) map[string][]float32 {
		for _, p := range m.Params() {
			p.ZeroGrad()
		}
		st.RNG = *nn.NewRNG(23)
		require.NoError(t, m.Forward(st, batch))
		require.NoError(t, backward())
		g := map[string][]float32{}
		for _, p := range m.Params() {
			g[p.Name] = append([]float32(nil), p.G...)
		}
		return g
	}
	joint := run(func() error { return m.BackwardHiddenLogits(st, dhidden, dlogits) })
	fromLogits := run(func() error { return m.Backward(st, dlogits) })
	fromHidden := run(func() error { return m.BackwardHidden(st, dhidden) })
	nonzero := 0
	for _, p := range m.Params() {
		want := make([]float32, len(p.G))
		for i := range want {
			want[i] = fromLogits[p.Name][i] + fromHidden[p.Name][i]
		}
		requireNear(t, joint[p.Name], want, 1e-5, "%s", p.Name)
		for _, g := range joint[p.Name] {
			if g != 0 {
				nonzero++
				break
			}
		}
	}
	require.Greater(t, nonzero, 20, "parameters with a gradient")
	require.NotZero(t, fromLogits["pooler.dense.weight"][0]+fromLogits["pooler.dense.weight"][1])

	st.CLSOnly = true
	require.NoError(t, m.Forward(st, batch))
	require.ErrorContains(t, m.BackwardHiddenLogits(st, dhidden, dlogits), "[CLS]")
}

// TestLastRowsTraining checks the passes that compute fewer rows than
// every row of the padded batch against the full pass: the last layer's
// chosen rows alone (State.LastRows: a masked-language-model loss's rows,
// a position repeated to pad a sequence's list), the real rows alone
// (State.Unpadded), and both. A loss reading the same rows gets the same
// rows, pooled output and gradients (up to rounding), with and without
// dropout, through BackwardHidden and BackwardHiddenLogits.
func TestLastRowsTraining(t *testing.T) {
	for _, variant := range []string{"last", "unpadded", "unpadded+last"} {
		for _, mode := range []string{"full", "adapter"} {
			for _, p := range []float32{0, 0.2} {
				for _, logits := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%s/dropout=%v/logits=%v", variant, mode, p, logits), func(t *testing.T) {
						testFewerRows(t, variant, mode, p, logits)
					})
				}
			}
		}
	}
}

func testFewerRows(t *testing.T, variant, mode string, p float32, logits bool) {
	cfg := tinyConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize, cfg.NumLayers, cfg.MaxPositions = 48, 4, 96, 2, 40
	cfg.HiddenDropout, cfg.AttentionDropout = p, p
	const B, T = 4, 21
	C := cfg.HiddenSize
	lens := []int{21, 3, 12, 9}
	batch := testBatch(B, T, lens, 3)
	// Three rows per sequence: [CLS], then positions (a repeat pads sequence 1).
	rows := []int32{0, 5, 20, 0, 2, 2, 0, 11, 1, 0, 3, 8}
	Tq := len(rows) / B
	g := make([]float32, len(rows)*C) // dL/d(selected row)
	nn.NewRNG(9).FillNormal(g, 0, 1)
	for c := range C { // the repeated row reads nothing, as a padding row of a loss would
		g[(1*Tq+2)*C+c] = 0
	}
	off := []int{0}
	for _, n := range lens {
		off = append(off, off[len(off)-1]+n)
	}
	// rowOf returns the row of Hidden[L] holding selected row r.
	rowOf := func(v string, r int) int {
		s, pos := r/Tq, int(rows[r])
		switch {
		case strings.HasSuffix(v, "last"):
			return r
		case v == "unpadded":
			return off[s] + pos
		}
		return s*T + pos
	}
	dlogits := []float32{0.3, -0.1, -0.2, 0.2, 0.1, -0.3, -0.5, 0.4, 0.1, 0, 0.2, -0.2}
	run := func(v string) (*State, []*nn.Param) {
		m, err := NewRandom(cfg, 3, 8)
		require.NoError(t, err)
		params := m.Params()
		for _, q := range params {
			m.SetTrainable(q, mode == "full" || strings.HasPrefix(q.Name, "classifier.") || (mode == "adapter" && isLayerNorm(q.Name)))
		}
		if mode == "adapter" {
			rng := nn.NewRNG(3)
			for l := range m.Layers {
				for _, at := range []*Adapter{&m.Layers[l].AttnAdapter, &m.Layers[l].FFAdapter} {
					h := &houlsby{down: trainLinear(rng, fmt.Sprint(l, "down"), C, 5), up: trainLinear(rng, fmt.Sprint(l, "up"), 5, C)}
					*at = h
					params = append(params, h.down.W, h.down.B, h.up.W, h.up.B)
				}
			}
		}
		st := &State{Train: true, RNG: *nn.NewRNG(17), Unpadded: strings.HasPrefix(v, "unpadded")}
		if strings.HasSuffix(v, "last") {
			st.LastRows = rows
		}
		require.NoError(t, m.Forward(st, batch))
		dh := make([]float32, len(st.Hidden[cfg.NumLayers]))
		for r := range rows {
			row := rowOf(v, r) * C
			kernels.Add(dh[row:row+C], dh[row:row+C], g[r*C:(r+1)*C])
		}
		if logits {
			require.NoError(t, m.BackwardHiddenLogits(st, dh, dlogits))
		} else {
			require.NoError(t, m.BackwardHidden(st, dh))
		}
		return st, params
	}
	stFull, full := run("padded")
	stLess, less := run(variant)
	wantRows := B * T
	switch variant {
	case "unpadded":
		wantRows = off[B]
	case "last", "unpadded+last":
		wantRows = len(rows)
	}
	require.Len(t, stLess.Hidden[cfg.NumLayers], wantRows*C)
	for r, pos := range rows {
		got, want := rowOf(variant, r)*C, rowOf("padded", r)*C
		requireNear(t, stLess.Hidden[cfg.NumLayers][got:got+C], stFull.Hidden[cfg.NumLayers][want:want+C], 1e-5, "row %d (sequence %d, position %d)", r, r/Tq, pos)
	}
	requireNear(t, stLess.Pooled, stFull.Pooled, 1e-5, "pooled")
	n := 0
	for i, q := range less {
		if !q.Trainable() {
			continue
		}
		var d, mx float64
		for j, gv := range full[i].G {
			d = max(d, math.Abs(float64(q.G[j])-float64(gv)))
			mx = max(mx, math.Abs(float64(gv)))
		}
		if mx == 0 { // the pooler without logits, say
			require.Zero(t, d, q.Name)
			continue
		}
		require.LessOrEqual(t, d, 1e-5*mx+1e-9, "%s: max|diff| %g, max|grad| %g", q.Name, d, mx)
		n++
	}
	require.Greater(t, n, 8)
}

func TestLastRowsErrors(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 0, 1)
	require.NoError(t, err)
	batch := testBatch(2, 4, []int{4, 2}, 1)
	for _, tc := range []struct {
		name string
		rows []int32
		want string
	}{
		{"uneven", []int32{0, 1, 0}, "the same number"},
		{"too many", []int32{0, 1, 2, 3, 3, 0, 1, 2, 3, 3}, "the same number"},
		{"out of range", []int32{0, 4, 0, 1}, "LastRows[1] = 4 is not a position"},
		{"negative", []int32{0, 1, 0, -1}, "LastRows[3] = -1"},
		{"no [CLS]", []int32{0, 1, 2, 1}, "must start with its [CLS] row"},
		{"padding when unpadded", []int32{0, 3, 0, 2}, "LastRows[3] = 2 is padding of sequence 1 (2 real tokens)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &State{LastRows: tc.rows, Unpadded: strings.HasSuffix(tc.name, "when unpadded")}
			require.ErrorContains(t, m.Forward(st, batch), tc.want)
		})
	}
	// An unpadded pass needs lengths that agree with the mask.
	bad := testBatch(2, 4, []int{4, 2}, 1)
	bad.Lens = []int{4, 3}
	require.ErrorContains(t, m.Forward(&State{Unpadded: true}, bad), "sequence 1 of length 3 has mask 0 at position 2")
	bad.Lens = []int{4}
	require.ErrorContains(t, m.Forward(&State{Unpadded: true}, bad), "needs the batch's lengths: 1 for 2 sequences")
	bad.Lens = []int{0, 2}
	require.ErrorContains(t, m.Forward(&State{Unpadded: true}, bad), "sequence 0 has length 0, want 1 to 4")
}
