package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Tolerances of the SIMD GELU kernels against the float64 references
// (|got - want| ≤ abs + rel·|want|), as documented in gelu.go.
var geluCases = []elemCase{
	{name: "GELU", variants: vecVariants(geluOp), ref: unary(geluGeneric), abs: geluAbsTol, rel: geluRelTol, sd: 3},
	{name: "GELUBackward", variants: bwdVariants(geluBackwardOp), ref: binary(geluBackwardGeneric), abs: geluAbsTol, rel: geluRelTol, sd: 3, absByDy: true},
}

func TestGELUVariants(t *testing.T) {
	for _, c := range geluCases {
		t.Run(c.name, func(t *testing.T) { checkElementwise(t, c) })
	}
}

// TestGELUDense compares every variant with the reference on a dense grid
// of x in [-12, 12] (where the functions are not saturated), dy = 1.
func TestGELUDense(t *testing.T) {
	var xs []float32
	for x := -12.0; x <= 12; x += 1.0 / 1024 {
		xs = append(xs, float32(x))
	}
	ones := make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	for _, c := range geluCases {
		t.Run(c.name, func(t *testing.T) {
			want := make([]float32, len(xs))
			c.ref(want, ones, xs)
			c.variants(t, func(t *testing.T, v Variant, impl elemFunc) {
				got := make([]float32, len(xs))
				impl(got, ones, xs)
				worst, at := 0.0, float32(0)
				for i := range xs {
					if !closeTo(got[i], want[i], c.abs, c.rel) {
						t.Fatalf("%s %s: x=%g: got %g, want %g", c.name, v, xs[i], got[i], want[i])
					}
					if e := math.Abs(float64(got[i])-float64(want[i])) / (c.abs + c.rel*math.Abs(float64(want[i]))); e > worst {
						worst, at = e, xs[i]
					}
				}
				t.Logf("%s %s: worst error %.3f of the tolerance at x=%g", c.name, v, worst, at)
			})
		})
	}
}

// geluF64 is the forward formula in float64, for finite differences.
func geluF64(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// TestGELUBackwardFiniteDifferences checks the backward kernel, every
// variant, against central differences of the float64 forward formula.
func TestGELUBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var xs, dys []float32
	for x := -8.0; x <= 8; x += 1.0 / 64 {
		xs = append(xs, float32(x))
		dys = append(dys, float32(rng.NormFloat64()))
	}
	const h = 1e-5
	forEachVariant(t, geluBackwardOp, func(t *testing.T, v Variant, impl geluBwdFunc) {
		dx := make([]float32, len(xs))
		impl(dx, dys, xs)
		for i, x := range xs {
			xf := float64(x)
			fd := float64(dys[i]) * (geluF64(xf+h) - geluF64(xf-h)) / (2 * h)
			// central differences are accurate to ~1e-10 here; the
			// rest is float32 rounding of dx.
			if d := math.Abs(float64(dx[i]) - fd); d > 1e-6*(1+math.Abs(fd)) {
				t.Errorf("GELUBackward %s: x=%g dy=%g: dx=%g, finite difference %g (diff %g)", v, x, dys[i], dx[i], fd, d)
			}
		}
	})
}

// TestAddBiasGELU checks the fused epilogue: pre += bias exactly, y =
// GELU(pre) within the GELU tolerance, over row widths 1..130 and BERT's.
func TestAddBiasGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	widths := []int{64, 128, 768, 3072}
	for c := 1; c <= 130; c++ {
		widths = append(widths, c)
	}
	forEachVariant(t, addBiasGELUOp, func(t *testing.T, v Variant, impl biasGELUFunc) {
		for _, cols := range widths {
			for _, rows := range []int{0, 1, 3} {
				off := cols % 4
				pre0 := testInput(rng, rows*cols, 2)
				bias := testInput(rng, cols+off, 1)[off:]
				preBuf := newGuarded(rows*cols, off, func(i int) float32 { return pre0[i] })
				yBuf := newGuarded(rows*cols, 3-off, fillUnwritten)
				pre, y := preBuf.s(), yBuf.s()
				impl(y, pre, bias, rows, cols)
				preBuf.checkGuards(t, "pre")
				yBuf.checkGuards(t, "y")
				want := make([]float32, len(pre))
				for i := range pre0 {
					s := pre0[i] + bias[i%cols]
					if !sameFloat(pre[i], s) {
						t.Fatalf("%s rows=%d cols=%d: pre[%d] = %g, want %g + %g = %g exactly", v, rows, cols, i, pre[i], pre0[i], bias[i%cols], s)
					}
				}
				geluGeneric(want, pre)
				for i := range want {
					if !closeTo(y[i], want[i], geluAbsTol, geluRelTol) {
						t.Fatalf("%s rows=%d cols=%d: y[%d] = GELU(%g) = %g, want %g", v, rows, cols, i, pre[i], y[i], want[i])
					}
				}
			}
		}
	})
}
