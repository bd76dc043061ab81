package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Helpers shared by the row-kernel tests (vector, layer norm, AdamW).

// rtU is the unit roundoff of float32.
const rtU = 0x1p-24

// rtGamma is Higham's γ(k) = k·u/(1-k·u): the relative error bound of k
// successive float32 roundings.
func rtGamma(k int) float64 { return float64(k) * rtU / (1 - float64(k)*rtU) }

// rtDepth bounds the number of float32 additions on any path of the
// summation tree a SIMD reduction over n elements uses: n/(4 lanes·unroll 4)
// per lane, plus the single-vector stage (3), the pairwise fold (2), the
// horizontal sum (4 for 16 lanes) and the scalar tail (15). NEON (4 lanes)
// has the most per lane; AVX2 and AVX-512 have fewer.
func rtDepth(n int) int { return n/16 + 32 }

// rtSpecials are the values mixed into inputs to check NaN and Inf handling
// and signed zeros, denormals and extremes.
var rtSpecials = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
	math.SmallestNonzeroFloat32, -0x1p-130, math.MaxFloat32, -math.MaxFloat32, 1e-30, -3e20,
}

// rtNormal returns a fill function of normal samples with the given mean
// and scale.
func rtNormal(rng *rand.Rand, mean, scale float64) func(int) float32 {
	return func(int) float32 { return float32(mean + scale*rng.NormFloat64()) }
}

// rtWithSpecials returns a fill function that is base, except that about
// one element in period is a special value.
func rtWithSpecials(rng *rand.Rand, base func(int) float32, period int) func(int) float32 {
	return func(i int) float32 {
		if rng.IntN(period) == 0 {
			return rtSpecials[rng.IntN(len(rtSpecials))]
		}
		return base(i)
	}
}

// rtLengths are the vector lengths swept: every length through several
// vectors past the largest unrolled block (4 x 16 lanes), then some larger.
func rtLengths() []int {
	var ns []int
	for n := 0; n <= 4*16+3*16+5; n++ {
		ns = append(ns, n)
	}
	return append(ns, 191, 255, 256, 257, 1000, 1023, 1024, 4099)
}

// rtWidths are the row widths swept: 1..1024 (every width to 160, then a
// sample) and BERT's 64, 128, 768 and 3072.
func rtWidths() []int {
	var ws []int
	for w := 1; w <= 160; w++ {
		ws = append(ws, w)
	}
	return append(ws, 191, 255, 256, 257, 383, 511, 512, 513, 767, 768, 769, 1000, 1023, 1024, 3072)
}

// rtOffsets are the starting offsets (in floats) of the buffers.
var rtOffsets = []int{0, 1, 3}

// elementwise ops: every variant gives the reference's bits.

func TestAdd(t *testing.T) {
	forEachVariant(t, addOp, func(t *testing.T, v Variant, impl addFunc) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range rtLengths() {
			for _, off := range rtOffsets {
				a := newGuarded(n, off, rtWithSpecials(rng, rtNormal(rng, 0, 10), 13))
				b := newGuarded(n, off+1, rtWithSpecials(rng, rtNormal(rng, 0, 10), 13))
				dst := newGuarded(n, off+2, nil)
				want := make([]float32, n)
				addGeneric(want, a.s(), b.s())
				impl(dst.s(), a.s(), b.s())
				requireSameBits(t, fmt.Sprintf("n=%d off=%d dst", n, off), dst.s(), want)
				dst.checkGuards(t, "dst")
				// In place: dst aliases a.
				impl(a.s(), a.s(), b.s())
				requireSameBits(t, fmt.Sprintf("n=%d off=%d in place", n, off), a.s(), want)
				a.checkGuards(t, "a")
			}
		}
	})
}

func TestAxpy(t *testing.T) {
	forEachVariant(t, axpyOp, func(t *testing.T, v Variant, impl axpyFunc) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, alpha := range []float32{0.37, -2.5, 0, float32(math.Inf(1)), 1e30} {
			for _, n := range rtLengths() {
				off := n % 4
				x := newGuarded(n, off, rtWithSpecials(rng, rtNormal(rng, 0, 1), 17))
				y := newGuarded(n, off+1, rtWithSpecials(rng, rtNormal(rng, 0, 1), 17))
				want := slices.Clone(y.s())
				axpyGeneric(alpha, x.s(), want)
				impl(alpha, x.s(), y.s())
				requireSameBits(t, fmt.Sprintf("alpha=%v n=%d y", alpha, n), y.s(), want)
				y.checkGuards(t, "y")
			}
		}
	})
}

func TestScale(t *testing.T) {
	forEachVariant(t, scaleOp, func(t *testing.T, v Variant, impl scaleFunc) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, alpha := range []float32{0.37, -2.5, 0, float32(math.NaN())} {
			for _, n := range rtLengths() {
				x := newGuarded(n, n%3, rtWithSpecials(rng, rtNormal(rng, 0, 1e3), 11))
				want := slices.Clone(x.s())
				scaleGeneric(alpha, want)
				impl(alpha, x.s())
				requireSameBits(t, fmt.Sprintf("alpha=%v n=%d", alpha, n), x.s(), want)
				x.checkGuards(t, "x")
			}
		}
	})
}

func TestAddBias(t *testing.T) {
	forEachVariant(t, addBiasOp, func(t *testing.T, v Variant, impl addBiasFunc) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, cols := range rtWidths() {
			for _, rows := range []int{0, 1, 3} {
				x := newGuarded(rows*cols, cols%3, rtWithSpecials(rng, rtNormal(rng, 0, 1), 29))
				bias := newGuarded(cols, 1, rtWithSpecials(rng, rtNormal(rng, 0, 1), 29))
				want := slices.Clone(x.s())
				addBiasGeneric(want, bias.s(), rows, cols)
				impl(x.s(), bias.s(), rows, cols)
				requireSameBits(t, fmt.Sprintf("%dx%d", rows, cols), x.s(), want)
				x.checkGuards(t, "x")
			}
		}
	})
}

// TestBiasGrad checks every variant against the reference bit for bit (both
// add the rows in order), over whole rows and over column blocks of a wider
// matrix (row stride ld > cols), as the parallel split uses them.
func TestBiasGrad(t *testing.T) {
	forEachVariant(t, biasGradOp, func(t *testing.T, v Variant, impl biasGradFunc) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, cols := range rtWidths() {
			for _, rows := range []int{0, 1, 3, 4, 6, 7} { // groups of 4 rows, remainders 0-3
				for _, pad := range []int{0, 5} {
					ld := cols + pad
					n := max(0, (rows-1)*ld+cols)
					if rows == 0 {
						n = 0
					}
					dy := newGuarded(n, pad%3, rtWithSpecials(rng, rtNormal(rng, 0, 1), 31))
					db := newGuarded(cols, 2, rtNormal(rng, 0, 1))
					want := slices.Clone(db.s())
					biasGradGeneric(want, dy.s(), rows, cols, ld)
					impl(db.s(), dy.s(), rows, cols, ld)
					requireSameBits(t, fmt.Sprintf("%dx%d ld=%d", rows, cols, ld), db.s(), want)
					db.checkGuards(t, "db")
				}
			}
		}
	})
}

// TestBiasGradFiniteDifferences checks BiasGrad as the gradient of
// L(b) = Σ_{r,c} w[r,c]·(x[r,c]+b[c]), by central differences in float64.
func TestBiasGradFiniteDifferences(t *testing.T) {
	forEachVariant(t, biasGradOp, func(t *testing.T, v Variant, impl biasGradFunc) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, shape := range [][2]int{{1, 1}, {3, 17}, {7, 64}, {5, 100}} {
			rows, cols := shape[0], shape[1]
			x := make([]float64, rows*cols)
			w := make([]float32, rows*cols)
			for i := range x {
				x[i], w[i] = rng.NormFloat64(), float32(rng.NormFloat64())
			}
			b := make([]float64, cols)
			loss := func() float64 {
				var l float64
				for r := 0; r < rows; r++ {
					for c := 0; c < cols; c++ {
						l += float64(w[r*cols+c]) * (x[r*cols+c] + b[c])
					}
				}
				return l
			}
			db := make([]float32, cols)
			impl(db, w, rows, cols, cols)
			const h = 1e-3
			for c := range b {
				b[c] = h
				lp := loss()
				b[c] = -h
				lm := loss()
				b[c] = 0
				fd := (lp - lm) / (2 * h)
				require.InDelta(t, fd, float64(db[c]), 1e-5*(1+math.Abs(fd)), "%dx%d db[%d]", rows, cols, c)
			}
		}
	})
}

// reductions

// TestSum checks Sum against float64 sums within the bound their
// doc comments state, γ(depth)·Σ|terms|, and exactly on small integers
// (whose partial sums are all exact in float32 whatever the order).
func TestSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	inputs, integers := rtSumInputs(rng)
	forEachVariant(t, sumOp, func(t *testing.T, v Variant, impl reduceFunc) {
		for _, n := range rtLengths() {
			for _, in := range inputs {
				x := newGuarded(n, n%4, in.fill)
				var exact, abs float64
				for _, e := range x.s() {
					exact += float64(e)
					abs += math.Abs(float64(e))
				}
				got := impl(x.s())
				tol := rtGamma(rtDepth(n))*abs + rtU*math.Abs(exact)
				require.InDelta(t, exact, float64(got), tol, "%s n=%d", in.name, n)
			}
			x := newGuarded(n, 1, integers)
			require.Equal(t, sumGeneric(x.s()), impl(x.s()), "integers n=%d", n)
		}
		// NaN and Inf propagate wherever they sit (vector blocks or tail).
		for _, n := range []int{1, 7, 8, 33, 100} {
			for _, pos := range []int{0, n / 2, n - 1} {
				for _, sp := range []struct {
					vals []float32
					nan  bool
				}{{[]float32{float32(math.NaN())}, true}, {[]float32{float32(math.Inf(1))}, false}, {[]float32{float32(math.Inf(1)), float32(math.Inf(-1))}, true}} {
					x := newGuarded(n, 0, integers).s()
					for j, s := range sp.vals {
						x[(pos+j*3)%n] = s
					}
					if len(sp.vals) == 2 && n < 4 {
						continue
					}
					got := impl(x)
					if sp.nan {
						require.True(t, math.IsNaN(float64(got)), "n=%d pos=%d %v: got %v, want NaN", n, pos, sp.vals, got)
					} else {
						require.True(t, math.IsInf(float64(got), 1), "n=%d pos=%d: got %v, want +Inf", n, pos, got)
					}
				}
			}
		}
	})
}

// rtSumInputs are the inputs of the Sum and Dot tests: random families, and
// small integers.
func rtSumInputs(rng *rand.Rand) (inputs []struct {
	name string
	fill func(int) float32
}, integers func(int) float32) {
	inputs = []struct {
		name string
		fill func(int) float32
	}{
		{"normal", rtNormal(rng, 0, 1)},
		{"offset", rtNormal(rng, 100, 1)},
		{"wide", func(int) float32 { return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6))) }},
	}
	return inputs, func(int) float32 { return float32(rng.IntN(17) - 8) }
}

// TestDot checks Dot as TestSum checks Sum (with one more rounding per term
// in the bound), and NaN and Inf propagation.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	inputs, integers := rtSumInputs(rng)
	forEachVariant(t, dotOp, func(t *testing.T, v Variant, impl dotFunc) {
		for _, n := range rtLengths() {
			for _, in := range inputs {
				x := newGuarded(n, n%4, in.fill)
				y := newGuarded(n, (n+1)%4, rtNormal(rng, 0, 1))
				var exact, abs float64
				for i := range x.s() {
					p := float64(x.s()[i]) * float64(y.s()[i])
					exact += p
					abs += math.Abs(p)
				}
				got := impl(x.s(), y.s())
				tol := rtGamma(rtDepth(n)+1)*abs + rtU*math.Abs(exact)
				require.InDelta(t, exact, float64(got), tol, "%s n=%d", in.name, n)
			}
			x, y := newGuarded(n, 1, integers), newGuarded(n, 2, integers)
			require.Equal(t, dotGeneric(x.s(), y.s()), impl(x.s(), y.s()), "integers n=%d", n)
		}
		for _, n := range []int{1, 9, 64, 77} {
			x, y := newGuarded(n, 0, integers).s(), newGuarded(n, 0, integers).s()
			y[n-1] = float32(math.NaN())
			require.True(t, math.IsNaN(float64(impl(x, y))), "n=%d NaN in the tail", n)
			y[n-1], y[0] = 1, float32(math.Inf(-1))
			x[0] = 2
			require.True(t, math.IsInf(float64(impl(x, y)), -1), "n=%d -Inf first", n)
		}
	})
}

// TestMax checks Max exactly (max is exact; a zero may have either sign),
// and that a NaN anywhere gives NaN.
func TestMax(t *testing.T) {
	forEachVariant(t, maxOp, func(t *testing.T, v Variant, impl reduceFunc) {
		rng := rand.New(rand.NewPCG(15, 16))
		require.True(t, math.IsInf(float64(impl(nil)), -1), "Max(empty) = -Inf")
		for _, n := range rtLengths() {
			for _, in := range []func(int) float32{
				rtNormal(rng, 0, 1), rtNormal(rng, -1e6, 1),
				func(int) float32 { return float32(math.Inf(-1)) },
				func(i int) float32 { return []float32{0, float32(math.Copysign(0, -1)), -1}[i%3] },
				rtWithSpecials(rng, rtNormal(rng, 0, 1), 7),
			} {
				x := newGuarded(n, n%4, in)
				want, got := maxGeneric(x.s()), impl(x.s())
				if math.IsNaN(float64(want)) {
					require.True(t, math.IsNaN(float64(got)), "n=%d: got %v, want NaN", n, got)
				} else {
					require.Equal(t, want, got, "n=%d", n)
				}
			}
			// A NaN at each position, including past the vector part.
			if n > 0 && n <= 130 {
				for pos := 0; pos < n; pos++ {
					x := newGuarded(n, 0, rtNormal(rng, 0, 1)).s()
					x[pos] = math.Float32frombits(0xffc00001) // a negative NaN
					require.True(t, math.IsNaN(float64(impl(x))), "n=%d NaN at %d", n, pos)
				}
			}
		}
	})
}

// TestRowWrappers checks the exported functions against the references
// through the active variant, over several thread counts (results must not
// depend on it), including the column split of BiasGrad.
func TestRowWrappersThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(17, 18))
	rows, cols := 333, 203 // enough work for several goroutines
	dy := newGuarded(rows*cols, 0, rtNormal(rng, 0, 1)).s()
	var first []float32
	for _, th := range []int{1, 2, 3, 7} {
		SetThreads(th)
		db := make([]float32, cols)
		for i := range db {
			db[i] = float32(i)
		}
		BiasGrad(db, dy, rows, cols)
		if first == nil {
			first = db
			want := make([]float32, cols)
			for i := range want {
				want[i] = float32(i)
			}
			biasGradGeneric(want, dy, rows, cols, cols)
			requireSameBits(t, "BiasGrad vs reference", db, want)
		} else {
			requireSameBits(t, fmt.Sprintf("BiasGrad threads=%d", th), db, first)
		}
		x := slices.Clone(dy)
		AddBias(x, db, rows, cols)
		want := slices.Clone(dy)
		addBiasGeneric(want, db, rows, cols)
		requireSameBits(t, fmt.Sprintf("AddBias threads=%d", th), x, want)

		n := 100003
		a, b := newGuarded(n, 0, rtNormal(rng, 0, 1)).s(), newGuarded(n, 0, rtNormal(rng, 0, 1)).s()
		got, want2 := make([]float32, n), make([]float32, n)
		Add(got, a, b)
		addGeneric(want2, a, b)
		requireSameBits(t, "Add", got, want2)
		Axpy(0.3, a, got)
		axpyGeneric(0.3, a, want2)
		requireSameBits(t, "Axpy", got, want2)
		Scale(-1.7, got)
		scaleGeneric(-1.7, want2)
		requireSameBits(t, "Scale", got, want2)
	}
}

// TestRowNoAllocs checks that the exported row kernels do not allocate, on
// one thread, for work below one goroutine's share on the default number of
// threads, and for work split over two goroutines (their arguments travel
// in pooled Jobs, not closures; not under -race, whose sync.Pool drops
// pooled items on purpose).
func TestRowNoAllocs(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(19, 20))
	big, small := 256, 8 // rows of width 768: big needs several goroutines
	const cols = 768
	x := newGuarded(big*cols, 0, rtNormal(rng, 0, 1)).s()
	y := make([]float32, big*cols)
	s := make([]float32, big*cols)
	dx := make([]float32, big*cols)
	gamma, beta := newGuarded(cols, 0, rtNormal(rng, 1, 0.1)).s(), newGuarded(cols, 0, rtNormal(rng, 0, 0.1)).s()
	dg, db := make([]float32, cols), make([]float32, cols)
	mean, rstd := make([]float32, big), make([]float32, big)
	m, v := make([]float32, big*cols), make([]float32, big*cols)
	par := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 1}
	for _, c := range []struct {
		threads, rows int
	}{{1, big}, {0, small}, {2, big}} {
		if c.threads == 2 && raceEnabled {
			continue
		}
		SetThreads(c.threads)
		r, n := c.rows, c.rows*cols
		for name, f := range map[string]func(){
			"LayerNorm":         func() { LayerNorm(y, mean, rstd, x, gamma, beta, r, cols, 1e-12) },
			"AddLayerNorm":      func() { AddLayerNorm(y, s, mean, rstd, x, y, gamma, beta, r, cols, 1e-12) },
			"LayerNormBackward": func() { LayerNormBackward(dx, dg, db, y, x, mean, rstd, gamma, r, cols) },
			"AddBias":           func() { AddBias(y, beta, r, cols) },
			"BiasGrad":          func() { BiasGrad(db, x, r, cols) },
			"Add":               func() { Add(y[:n], x[:n], s[:n]) },
			"Axpy":              func() { Axpy(0.5, x[:n], y[:n]) },
			"Scale":             func() { Scale(0.5, y[:n]) },
			"Dot":               func() { Dot(x[:n], y[:n]) },
			"Sum":               func() { Sum(x[:n]) },
			"Max":               func() { Max(x[:n]) },
			"AdamW":             func() { AdamW(y[:n], x[:n], m[:n], v[:n], par) },
			"SoftmaxRows":       func() { SoftmaxRows(y, x, r, cols, 0.125, gamma) },
			"SoftmaxBackward":   func() { SoftmaxRowsBackward(dx, y, x, r, cols, 0.125) },
			"AddBiasGELU":       func() { AddBiasGELU(y, s, beta, r, cols) },
			"GELUBackward":      func() { GELUBackward(dx[:n], y[:n], x[:n]) },
			"exp":               func() { exp(y[:n], x[:n]) },
		} {
			if a := testing.AllocsPerRun(5, f); a != 0 {
				t.Errorf("%s (threads=%d, rows=%d): %v allocations per call, want 0", name, c.threads, r, a)
			}
		}
	}
}
