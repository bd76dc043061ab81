package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
)

// ulpErr returns |got - want| in units of the float32 spacing at want (the
// spacing of denormals, 2^-149, below the normal range). Matching NaNs and
// equal infinities give 0; any other disagreement on NaN or Inf gives +Inf.
func ulpErr(got float32, want float64) float64 {
	g := float64(got)
	if math.IsNaN(want) || math.IsNaN(g) {
		if math.IsNaN(want) && math.IsNaN(g) {
			return 0
		}
		return math.Inf(1)
	}
	w32 := float32(want)
	if math.IsInf(float64(w32), 0) || math.IsInf(g, 0) {
		if float64(w32) == g {
			return 0
		}
		// want rounds to Inf: measure against MaxFloat32's spacing.
		if math.IsInf(float64(w32), 0) && math.Abs(g) == math.MaxFloat32 {
			return 1
		}
		return math.Inf(1)
	}
	a := math.Abs(float64(w32))
	var ulp float64
	if a < 0x1p-126 {
		ulp = 0x1p-149
	} else {
		_, e := math.Frexp(a) // a = f·2^e, f in [0.5, 1)
		ulp = math.Ldexp(1, e-24)
	}
	return math.Abs(g-want) / ulp
}

// sweepInputs returns ±f for every float32 f whose bit pattern is in
// [lo, hi) and a multiple of stride, plus the extremes and special values.
func sweepInputs(lim float32, lo uint32, hi uint64, stride uint32) []float32 {
	out := make([]float32, 0, 2*int((hi-uint64(lo))/uint64(stride))+32)
	for b := uint64(lo); b < hi; b += uint64(stride) {
		f := math.Float32frombits(uint32(b))
		out = append(out, f, -f)
	}
	inf := float32(math.Inf(1))
	out = append(out, inf, -inf, float32(math.NaN()), -float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		0x1p-126, -0x1p-126, 0, float32(math.Copysign(0, -1)), lim, -lim)
	return out
}

// accuracyCase is a vectorised function with its float64 reference and the
// maximum error, in float32 ulps, that its doc comment states.
type accuracyCase struct {
	name   string
	op     *opTable[vecFunc]
	ref    func(float64) float64
	lim    float32 // sweep [-lim, lim]
	extra  []float32
	maxULP float64
}

var accuracyCases = []accuracyCase{
	{"exp", expOp, math.Exp, 100,
		// around the overflow and underflow thresholds, and the denormal range
		[]float32{88.72283, 88.72284, 88.722839, 88.7229, 89, 104, -87.3365, -87.3366, -103.2789, -103.9721, -103.973, -104, -150, 1e30, -1e30},
		expMaxULP},
	{"Tanh", tanhOp, math.Tanh, 100, []float32{0.625, 0.62499994, 9.1, 9.0109, 1e-30, 1e30, -1e30}, tanhMaxULP},
}

// TestTranscendentalAccuracy sweeps each vectorised function over every
// 1733rd float32 bit pattern in [-100, 100] (1.3 million inputs of both
// signs), the thresholds and the special values, and checks the stated
// maximum error against float64 math. PETL_SWEEP_STRIDE=1 checks every
// float32 in the range (minutes).
func TestTranscendentalAccuracy(t *testing.T) {
	stride := uint32(1733)
	if testing.Short() {
		stride = 17333
	}
	if s := os.Getenv("PETL_SWEEP_STRIDE"); s != "" {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			t.Fatalf("PETL_SWEEP_STRIDE=%q: want a positive integer", s)
		}
		stride = uint32(n)
	}
	for _, c := range accuracyCases {
		t.Run(c.name, func(t *testing.T) {
			forEachVariant(t, c.op, func(t *testing.T, v Variant, impl vecFunc) {
				worst, at, count := 0.0, float32(0), 0
				check := func(xs []float32) {
					ys := make([]float32, len(xs))
					impl(ys, xs)
					for i, x := range xs {
						if e := ulpErr(ys[i], c.ref(float64(x))); e > worst {
							worst, at = e, x
						}
					}
					count += len(xs)
				}
				check(append(sweepInputs(c.lim, 0, 0, 1), c.extra...))
				top := math.Float32bits(c.lim)
				const chunk = 1 << 20
				for lo := uint32(0); lo <= top; lo += chunk * stride {
					check(sweepInputs(c.lim, lo, min(uint64(lo)+chunk*uint64(stride), uint64(top)+1), stride))
				}
				t.Logf("%s %s: max error %.3f ulp at x=%g over %d inputs", c.name, v, worst, at, count)
				if !(worst <= c.maxULP) {
					t.Errorf("%s %s: error %.3f ulp at x=%g (got %g, want %g); documented bound %g ulp",
						c.name, v, worst, at, impl1(impl, at), c.ref(float64(at)), c.maxULP)
				}
			})
		})
	}
}

// impl1 applies a vector function to one value.
func impl1(f vecFunc, x float32) float32 {
	y := []float32{0}
	f(y, []float32{x})
	return y[0]
}

// elemFunc adapts the element-wise signatures: unary ops ignore dy.
type elemFunc func(out, dy, x []float32)

func unary(f vecFunc) elemFunc      { return func(out, _, x []float32) { f(out, x) } }
func binary(f geluBwdFunc) elemFunc { return func(out, dy, x []float32) { f(out, dy, x) } }

// specialValues are mixed into every test input.
var specialValues = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
	math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-30, -1e-30, 1e20, -1e20,
	100, -100, 30, -30, 10, -10, 5.7, -5.7, 1, -1, 0.625, -0.625, 1.4142135, -1.4142135,
}

// testInput returns n values: mostly normal with standard deviation sd,
// every 7th a special value.
func testInput(rng *rand.Rand, n int, sd float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		if i%7 == 3 {
			x[i] = specialValues[rng.IntN(len(specialValues))]
		} else {
			x[i] = float32(rng.NormFloat64() * sd)
		}
	}
	return x
}

// closeTo reports whether got is within abs + rel·|want| of want, NaN
// matching NaN and infinities matching exactly.
func closeTo(got, want float32, abs, rel float64) bool {
	g, w := float64(got), float64(want)
	switch {
	case math.IsNaN(w) || math.IsNaN(g):
		return math.IsNaN(w) && math.IsNaN(g)
	case math.IsInf(w, 0) || math.IsInf(g, 0):
		// A result at the edge of the range may round to ±MaxFloat32 on
		// one side and ±Inf on the other.
		return g == w || math.Abs(g) == math.MaxFloat32 && math.Abs(w) == math.Inf(1) && g*w > 0 ||
			math.Abs(w) == math.MaxFloat32 && math.Abs(g) == math.Inf(1) && g*w > 0
	}
	return math.Abs(g-w) <= abs+rel*math.Abs(w)
}

// elemCase is an element-wise op with its reference and the tolerance of the
// SIMD variants against it.
type elemCase struct {
	name     string
	variants func(t *testing.T, f func(t *testing.T, v Variant, impl elemFunc))
	ref      elemFunc
	abs, rel float64
	sd       float64 // input spread
	absByDy  bool    // backward: the absolute tolerance scales with |dy|
}

// checkElementwise runs every variant of c over lengths 0..130 with start
// offsets 0..3 (input and output offsets differing), guard values around the
// output, NaN and Inf inputs, and compares it with the reference.
func checkElementwise(t *testing.T, c elemCase) {
	c.variants(t, func(t *testing.T, v Variant, impl elemFunc) {
		rng := rand.New(rand.NewPCG(1, uint64(v)))
		worst := 0.0
		for n := 0; n <= 130; n++ {
			for off := 0; off < 4; off++ {
				xb := testInput(rng, n+off+1, c.sd)
				x := xb[(off+1)%4 : (off+1)%4+n]
				dy := testInput(rng, n+off, 1)[off:]
				want := make([]float32, n)
				c.ref(want, dy, x)
				out := newGuarded(n, off, fillUnwritten)
				got := out.s()
				impl(got, dy, x)
				out.checkGuards(t, c.name)
				if c.absByDy {
					// dy = ±Inf: the float32 kernels form dy·float32(d), so a
					// derivative below the float32 range gives Inf·0 = NaN
					// where the float64 reference still gives ±Inf.
					one := []float32{1}
					for i := range want {
						if math.IsInf(float64(dy[i]), 0) {
							d := []float32{0}
							c.ref(d, one, x[i:i+1])
							want[i] = dy[i] * d[0]
						}
					}
				}
				for i := range want {
					abs := c.abs
					if c.absByDy {
						abs *= math.Abs(float64(dy[i]))
					}
					if !closeTo(got[i], want[i], abs, c.rel) {
						t.Fatalf("%s %s n=%d off=%d: x=%g dy=%g: got %g, want %g (tolerance %g + %g·|want|)",
							c.name, v, n, off, x[i], dy[i], got[i], want[i], c.abs, c.rel)
					}
					if d := math.Abs(float64(got[i]) - float64(want[i])); d > 0 && !math.IsInf(d, 0) {
						worst = max(worst, d/(abs+c.rel*math.Abs(float64(want[i]))))
					}
				}
			}
		}
		t.Logf("%s %s: worst error %.3f of the tolerance", c.name, v, worst)
	})
}

func vecVariants(op *opTable[vecFunc]) func(*testing.T, func(*testing.T, Variant, elemFunc)) {
	return func(t *testing.T, f func(*testing.T, Variant, elemFunc)) {
		forEachVariant(t, op, func(t *testing.T, v Variant, impl vecFunc) { f(t, v, unary(impl)) })
	}
}

func bwdVariants(op *opTable[geluBwdFunc]) func(*testing.T, func(*testing.T, Variant, elemFunc)) {
	return func(t *testing.T, f func(*testing.T, Variant, elemFunc)) {
		forEachVariant(t, op, func(t *testing.T, v Variant, impl geluBwdFunc) { f(t, v, binary(impl)) })
	}
}

// TestMathShapes checks exp and Tanh over lengths, offsets, guards and
// special values; the per-value accuracy is TestTranscendentalAccuracy's.
func TestMathShapes(t *testing.T) {
	ulp := 0x1p-23 // relative size of one ulp, at most
	for _, c := range []elemCase{
		{name: "exp", variants: vecVariants(expOp), ref: unary(expGeneric), abs: 0x1p-148, rel: expMaxULP * ulp, sd: 30},
		{name: "Tanh", variants: vecVariants(tanhOp), ref: unary(tanhGeneric), abs: 0x1p-148, rel: tanhMaxULP * ulp, sd: 2},
	} {
		t.Run(c.name, func(t *testing.T) { checkElementwise(t, c) })
	}
}

// TestRowKernelsDoNotAllocate checks that the public wrappers allocate
// nothing on one goroutine (and for work below the parallel grain).
func TestRowKernelsDoNotAllocate(t *testing.T) {
	const rows, cols = 96, 128
	x := testInput(rand.New(rand.NewPCG(1, 2)), rows*cols, 1)
	y := make([]float32, len(x))
	dy := make([]float32, len(x))
	bias := make([]float32, cols)
	pre := slices.Clone(x)
	mask := make([]float32, cols)
	calls := map[string]func(){
		"exp":                 func() { exp(y, x) },
		"Tanh":                func() { Tanh(y, x) },
		"GELU":                func() { GELU(y, x) },
		"GELUBackward":        func() { GELUBackward(y, dy, x) },
		"AddBiasGELU":         func() { AddBiasGELU(y, pre, bias, rows, cols) },
		"SoftmaxRows":         func() { SoftmaxRows(y, x, rows, cols, 0.125, mask) },
		"SoftmaxRowsNoMask":   func() { SoftmaxRows(y, x, rows, cols, 0.125, nil) },
		"SoftmaxRowsBackward": func() { SoftmaxRowsBackward(dy, y, x, rows, cols, 0.125) },
	}
	for _, threads := range []int{1, 0} {
		SetThreads(threads)
		for name, f := range calls {
			if threads == 0 && len(x) > elemGrain {
				continue
			}
			if n := testing.AllocsPerRun(20, f); n != 0 {
				t.Errorf("%s (threads=%d) allocates %.1f times per call, want 0", name, threads, n)
			}
		}
	}
	SetThreads(0)
}
