package optim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newParam makes a parameter with values drawn from r (frozen: no gradient).
func newParam(r *rand.Rand, name string, shape []int, frozen, noDecay bool) *nn.Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &nn.Param{Name: name, Shape: shape, W: make([]float32, n), Frozen: frozen, NoDecay: noDecay}
	for i := range p.W {
		p.W[i] = float32(r.NormFloat64())
	}
	if !frozen {
		p.G = make([]float32, n)
	}
	return p
}

func testParams(seed uint64) []*nn.Param {
	r := rand.New(rand.NewPCG(seed, 1))
	return []*nn.Param{
		newParam(r, "adapter.down.weight", []int{8, 5}, false, false),
		newParam(r, "adapter.down.bias", []int{8}, false, true),
		newParam(r, "encoder.layer.0.attention.self.query.weight", []int{6, 6}, true, false),
		newParam(r, "LayerNorm.weight", []int{37}, false, true), // odd length: kernels' tails
		newParam(r, "classifier.weight", []int{2, 130}, false, false),
	}
}

// fillGrads sets gradients of mixed magnitudes, some exactly zero.
func fillGrads(r *rand.Rand, params []*nn.Param) {
	for _, p := range params {
		for i := range p.G {
			switch r.IntN(5) {
			case 0:
				p.G[i] = 0
			case 1:
				p.G[i] = float32(r.NormFloat64() * 1e-4)
			default:
				p.G[i] = float32(r.NormFloat64())
			}
		}
	}
}

// refAdamW is the textbook bias-corrected AdamW in float64, written with m̂
// and v̂ rather than the kernel's folded constants.
type refAdamW struct {
	cfg     AdamWConfig
	p, m, v [][]float64
	t       int
}

func newRef(params []*nn.Param, cfg AdamWConfig) *refAdamW {
	r := &refAdamW{cfg: cfg}
	for _, p := range params {
		w := make([]float64, len(p.W))
		for i, x := range p.W {
			w[i] = float64(x)
		}
		r.p = append(r.p, w)
		r.m = append(r.m, make([]float64, len(p.W)))
		r.v = append(r.v, make([]float64, len(p.W)))
	}
	return r
}

func (r *refAdamW) step(params []*nn.Param, lr float64) {
	r.t++
	b1, b2, eps := float64(r.cfg.Beta1), float64(r.cfg.Beta2), float64(r.cfg.Eps)
	for k, p := range params {
		if p.Frozen {
			continue
		}
		wd := float64(r.cfg.WeightDecay)
		if p.NoDecay {
			wd = 0
		}
		for i := range r.p[k] {
			g := float64(p.G[i])
			r.p[k][i] -= lr * wd * r.p[k][i]
			r.m[k][i] = b1*r.m[k][i] + (1-b1)*g
			r.v[k][i] = b2*r.v[k][i] + (1-b2)*g*g
			mhat := r.m[k][i] / (1 - math.Pow(b1, float64(r.t)))
			vhat := r.v[k][i] / (1 - math.Pow(b2, float64(r.t)))
			r.p[k][i] -= lr * mhat / (math.Sqrt(vhat) + eps)
		}
	}
}

func TestAdamWAgainstFloat64(t *testing.T) {
	for _, cfg := range []AdamWConfig{
		DefaultAdamW(),
		{Beta1: 0.8, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.3}, // strong decay: its effect is visible
	} {
		params := testParams(7)
		frozenBefore := slices.Clone(params[2].W)
		opt, err := NewAdamW(params, cfg)
		require.NoError(t, err)
		ref := newRef(params, cfg)
		r := rand.New(rand.NewPCG(3, 4))
		for step, lr := range []float64{0, 1e-3, 5e-2, 2e-2, 1e-4} {
			fillGrads(r, params)
			grads := make([][]float32, len(params))
			for k, p := range params {
				grads[k] = slices.Clone(p.G)
			}
			opt.Step(lr)
			ref.step(params, lr)
			require.Equal(t, step+1, opt.Steps())
			for k, p := range params {
				assert.Equal(t, grads[k], p.G, "%s: gradient unchanged", p.Name)
				if p.Frozen {
					continue
				}
				for i := range p.W {
					want := ref.p[k][i]
					require.InDelta(t, want, float64(p.W[i]), 2e-6*math.Max(1, math.Abs(want)),
						"cfg %+v step %d %s[%d]", cfg, step+1, p.Name, i)
				}
			}
		}
		assert.Equal(t, frozenBefore, params[2].W, "frozen parameter untouched")
		// Moments agree too.
		st := opt.State()
		for _, tensor := range st.Tensors {
			k := slices.IndexFunc(params, func(p *nn.Param) bool {
				return tensor.Name == p.Name+SuffixM || tensor.Name == p.Name+SuffixV
			})
			require.GreaterOrEqual(t, k, 0, tensor.Name)
			want := ref.m[k]
			if tensor.Name == params[k].Name+SuffixV {
				want = ref.v[k]
			}
			// float32 running averages of mixed-sign values: error relative
			// to the tensor's largest magnitude.
			var scale float64
			for _, w := range want {
				scale = math.Max(scale, math.Abs(w))
			}
			for i, x := range tensor.Data {
				require.InDelta(t, want[i], float64(x), 1e-6*scale, "%s[%d]", tensor.Name, i)
			}
		}
	}
}

// TestWeightDecayOnlyWhereAllowed: with zero gradients the only change is
// the decay p·(1-lr·wd), and only on parameters without NoDecay.
func TestWeightDecayOnlyWhereAllowed(t *testing.T) {
	params := testParams(11)
	before := make([][]float32, len(params))
	for k, p := range params {
		before[k] = slices.Clone(p.W)
	}
	opt, err := NewAdamW(params, DefaultAdamW())
	require.NoError(t, err)
	opt.Step(0.5)
	for k, p := range params {
		for i := range p.W {
			want := before[k][i]
			if !p.Frozen && !p.NoDecay {
				want = before[k][i] * (1 - 0.5*0.01)
			}
			require.InDelta(t, want, p.W[i], 1e-6, "%s[%d]", p.Name, i)
		}
	}
}

func TestFrozenHaveNoState(t *testing.T) {
	params := testParams(1)
	opt, err := NewAdamW(params, DefaultAdamW())
	require.NoError(t, err)
	assert.Len(t, opt.Params(), 4)
	for _, p := range opt.Params() {
		assert.False(t, p.Frozen)
	}
	var names []string
	for _, tensor := range opt.State().Tensors {
		names = append(names, tensor.Name)
	}
	assert.NotContains(t, names, params[2].Name+SuffixM)
	assert.NotContains(t, names, params[2].Name+SuffixV)
	assert.Contains(t, names, "adapter.down.weight"+SuffixM)
	assert.Contains(t, names, "classifier.weight"+SuffixV)
	assert.Len(t, names, 8)

	// ZeroGrad clears trainable gradients.
	fillGrads(rand.New(rand.NewPCG(1, 1)), opt.Params())
	opt.ZeroGrad()
	assert.Zero(t, GradNorm(params))
}

func TestNewAdamWErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	a := newParam(r, "a", []int{2}, false, false)
	b := newParam(r, "a", []int{3}, false, false)
	_, err := NewAdamW([]*nn.Param{a, b}, DefaultAdamW())
	assert.ErrorContains(t, err, `"a" appears twice`)

	bad := &nn.Param{Name: "x", Shape: []int{2}, W: make([]float32, 2)}
	_, err = NewAdamW([]*nn.Param{bad}, DefaultAdamW())
	assert.ErrorContains(t, err, "gradient")

	for _, cfg := range []AdamWConfig{
		{Beta1: 1, Beta2: 0.999, Eps: 1e-6},
		{Beta1: 0.9, Beta2: -0.1, Eps: 1e-6},
		{Beta1: 0.9, Beta2: 0.999, Eps: 0},
		{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, WeightDecay: -1},
		{Beta1: float32(math.NaN()), Beta2: 0.999, Eps: 1e-6},
	} {
		_, err := NewAdamW([]*nn.Param{a}, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}

// TestStateRoundTrip: an optimiser restored from another's state continues
// exactly as the original does.
func TestStateRoundTrip(t *testing.T) {
	pa, pb := testParams(5), testParams(5)
	a, err := NewAdamW(pa, DefaultAdamW())
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(9, 9))
	for range 3 {
		fillGrads(r, pa)
		a.Step(1e-2)
	}
	// Copy a's weights and state into b, as a checkpoint would.
	for k := range pa {
		copy(pb[k].W, pa[k].W)
	}
	st := a.State()
	saved := cloneState(st)
	slices.Reverse(saved.Tensors) // order does not matter
	b, err := NewAdamW(pb, DefaultAdamW())
	require.NoError(t, err)
	require.NoError(t, b.LoadState(saved))
	assert.Equal(t, 3, b.Steps())
	for range 2 {
		fillGrads(r, pa)
		for k := range pa {
			copy(pb[k].G, pa[k].G)
		}
		a.Step(5e-3)
		b.Step(5e-3)
	}
	for k := range pa {
		assert.Equal(t, pa[k].W, pb[k].W, pa[k].Name)
	}
	assert.Equal(t, a.State(), b.State())
}

func TestLoadStateErrors(t *testing.T) {
	params := testParams(2)
	opt, err := NewAdamW(params, DefaultAdamW())
	require.NoError(t, err)
	good := func() State {
		st := opt.State()
		for i := range st.Tensors {
			st.Tensors[i].Data = slices.Clone(st.Tensors[i].Data)
			for j := range st.Tensors[i].Data {
				st.Tensors[i].Data[j] = 0.5
			}
		}
		return st
	}
	tests := []struct {
		name   string
		change func(*State)
		msg    string
	}{
		{"negative step", func(s *State) { s.Step = -1 }, "negative"},
		{"missing tensor", func(s *State) { s.Tensors = s.Tensors[1:] }, `no tensor "adapter.down.weight.exp_avg"`},
		{"unknown parameter", func(s *State) { s.Tensors[0].Name = "other.weight" + SuffixM }, "not a trainable parameter"},
		{"frozen parameter", func(s *State) { s.Tensors[0].Name = params[2].Name + SuffixM }, "not a trainable parameter"},
		{"bad suffix", func(s *State) { s.Tensors[0].Name = "adapter.down.weight.m" }, "is not named"},
		{"duplicate", func(s *State) { s.Tensors[1] = s.Tensors[0] }, "appears twice"},
		{"wrong shape", func(s *State) { s.Tensors[0].Shape = []int{5, 8} }, "shape [5 8]"},
		{"wrong length", func(s *State) { s.Tensors[0].Data = s.Tensors[0].Data[1:] }, "39 values"},
		{"NaN", func(s *State) { s.Tensors[0].Data[3] = float32(math.NaN()) }, "NaN"},
		{"negative v", func(s *State) { s.Tensors[1].Data[0] = -1 }, "-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := good()
			tc.change(&st)
			before := cloneState(opt.State())
			err := opt.LoadState(st)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrState)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Equal(t, before, opt.State(), "a failed load changes nothing")
			assert.Zero(t, opt.Steps())
		})
	}
	require.NoError(t, opt.LoadState(good()))
	assert.Equal(t, float32(0.5), opt.State().Tensors[0].Data[0])
}

func TestLinearWarmup(t *testing.T) {
	s, err := NewLinearWarmup(2e-5, 100, DefaultWarmup)
	require.NoError(t, err)
	assert.Equal(t, 10, s.Warmup)
	tests := []struct {
		k    int
		want float64
	}{
		{0, 0},               // first update: lr 0, as in HF
		{1, 2e-5 / 10},       // warming up
		{5, 2e-5 / 2},        // half way
		{9, 2e-5 * 0.9},      // last warm-up step
		{10, 2e-5},           // peak
		{55, 2e-5 * 45 / 90}, // half way down
		{99, 2e-5 / 90},      // last update
		{100, 0}, {150, 0},   // past the end
		{-1, 0},
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, s.At(tc.k), 1e-18, "k=%d", tc.k)
	}
	// Monotone up to the peak, then down.
	for k := 1; k <= 100; k++ {
		if k <= 10 {
			assert.GreaterOrEqual(t, s.At(k), s.At(k-1))
		} else {
			assert.LessOrEqual(t, s.At(k), s.At(k-1))
		}
	}

	noWarm, err := NewLinearWarmup(1, 4, 0)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 0.75, 0.5, 0.25, 0}, []float64{noWarm.At(0), noWarm.At(1), noWarm.At(2), noWarm.At(3), noWarm.At(4)})

	allWarm, err := NewLinearWarmup(1, 4, 1)
	require.NoError(t, err)
	assert.Equal(t, []float64{0, 0.25, 0.5, 0.75, 0}, []float64{allWarm.At(0), allWarm.At(1), allWarm.At(2), allWarm.At(3), allWarm.At(4)})

	assert.Equal(t, 7, WarmupSteps(70, 0.1), "0.1·70 is 7.000000000000001 in float64")
	assert.Equal(t, 1, WarmupSteps(3, 0.1), "rounded up")
	assert.Equal(t, 0, WarmupSteps(3, 0))

	for _, bad := range []struct {
		peak   float64
		total  int
		warmup float64
	}{{-1, 10, 0.1}, {math.NaN(), 10, 0.1}, {1, 0, 0.1}, {1, 10, 1.5}, {1, 10, -0.1}} {
		_, err := NewLinearWarmup(bad.peak, bad.total, bad.warmup)
		assert.Error(t, err, "%+v", bad)
	}
}

func TestClipGradNorm(t *testing.T) {
	mk := func() []*nn.Param {
		return []*nn.Param{
			{Name: "a", Shape: []int{2}, W: make([]float32, 2), G: []float32{3, 0}},
			{Name: "frozen", Shape: []int{1}, W: []float32{1}, Frozen: true},
			{Name: "b", Shape: []int{1, 5}, W: make([]float32, 5), G: []float32{0, 0, 4, 0, 0}},
		}
	}
	t.Run("over the limit", func(t *testing.T) {
		ps := mk()
		norm, err := ClipGradNorm(ps, 1)
		require.NoError(t, err)
		assert.InDelta(t, 5, norm, 1e-12)
		assert.InDelta(t, 3.0/5, ps[0].G[0], 1e-6)
		assert.InDelta(t, 4.0/5, ps[2].G[2], 1e-6)
		assert.InDelta(t, 1, GradNorm(ps), 1e-6)
	})
	t.Run("under the limit", func(t *testing.T) {
		ps := mk()
		norm, err := ClipGradNorm(ps, 10)
		require.NoError(t, err)
		assert.InDelta(t, 5, norm, 1e-12)
		assert.Equal(t, []float32{3, 0}, ps[0].G)
	})
	t.Run("measure only", func(t *testing.T) {
		ps := mk()
		norm, err := ClipGradNorm(ps, 0)
		require.NoError(t, err)
		assert.InDelta(t, 5, norm, 1e-12)
		assert.Equal(t, []float32{0, 0, 4, 0, 0}, ps[2].G)
	})
	t.Run("non-finite", func(t *testing.T) {
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			ps := mk()
			ps[2].G[3] = bad
			norm, err := ClipGradNorm(ps, 1)
			require.ErrorIs(t, err, ErrNonFinite)
			assert.Contains(t, err.Error(), "b [1 5]")
			assert.Contains(t, err.Error(), "index 3")
			assert.False(t, !math.IsNaN(norm) && !math.IsInf(norm, 0))
			assert.Equal(t, float32(3), ps[0].G[0], "nothing scaled")
		}
	})
	t.Run("float64 sum of many values", func(t *testing.T) {
		// 10⁶ gradients of 1e-3 and one of 1: exact norm √(1 + 1) = √2.
		g := make([]float32, 1_000_001)
		for i := range g {
			g[i] = 1e-3
		}
		g[0] = 1
		ps := []*nn.Param{{Name: "big", Shape: []int{len(g)}, W: make([]float32, len(g)), G: g}}
		x := float64(float32(1e-3))
		assert.InDelta(t, math.Sqrt(1+1e6*x*x), GradNorm(ps), 1e-10) // a float32 running sum is off by over 1e-3
		assert.InDelta(t, math.Sqrt2, GradNorm(ps), 1e-6)
	})
}

// cloneState deep-copies s (State's data aliases the optimiser's buffers).
func cloneState(s State) State {
	c := State{Step: s.Step}
	for _, t := range s.Tensors {
		c.Tensors = append(c.Tensors, Tensor{t.Name, slices.Clone(t.Shape), slices.Clone(t.Data)})
	}
	return c
}

// TestAdamWThreads checks that a parameter large enough for the kernel
// threads to share (kernels.AdamW splits it) is updated bit for bit as by
// one thread.
func TestAdamWThreads(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	var results [][]float32
	for _, threads := range []int{1, 3} {
		kernels.SetThreads(threads)
		r := rand.New(rand.NewPCG(5, 6))
		p := newParam(r, "big", []int{1<<17 + 4099}, false, false)
		opt, err := NewAdamW([]*nn.Param{p}, DefaultAdamW())
		require.NoError(t, err)
		for range 3 {
			fillGrads(r, []*nn.Param{p})
			opt.Step(1e-2)
		}
		results = append(results, p.W)
	}
	require.Equal(t, results[0], results[1])
}
