package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// softmaxWidths are the row widths tested: every one from 1 to 1024, and
// BERT's intermediate width.
func softmaxWidths() []int {
	var w []int
	for c := 1; c <= 1024; c++ {
		w = append(w, c)
	}
	return append(w, 3072)
}

// softmaxInput returns rows×cols scores with a mix of masks: row 0 fully
// masked when the mask is absent (all -Inf), otherwise random normal values.
func softmaxInput(rng *rand.Rand, rows, cols int, withMask bool) (x, mask []float32) {
	x = make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 4)
	}
	if withMask {
		mask = make([]float32, cols)
		for c := range mask {
			switch rng.IntN(4) {
			case 0:
				mask[c] = float32(math.Inf(-1))
			case 1:
				mask[c] = -10000
			default:
				mask[c] = float32(rng.NormFloat64())
			}
		}
	}
	if rows > 1 {
		// a fully masked row
		for c := 0; c < cols; c++ {
			x[cols+c] = float32(math.Inf(-1))
		}
	}
	if rows > 2 && cols > 2 {
		x[2*cols+cols/2] = float32(math.NaN()) // a NaN row
	}
	return x, mask
}

// softmaxRel is the relative tolerance of the SIMD softmax and its backward
// against the float64-accumulating reference, per element, on top of an
// absolute 1e-9 (for the denormal and flushed tails).
const (
	softmaxRel = 1e-6
	softmaxAbs = 1e-9
)

func TestSoftmaxRowsVariants(t *testing.T) {
	forEachVariant(t, softmaxOp, func(t *testing.T, v Variant, impl softmaxFunc) {
		rng := rand.New(rand.NewPCG(7, uint64(v)))
		worst := 0.0
		for _, cols := range softmaxWidths() {
			for _, withMask := range []bool{false, true} {
				rows := 3
				x, mask := softmaxInput(rng, rows, cols, withMask)
				scale := float32(1 / math.Sqrt(64))
				want := make([]float32, len(x))
				softmaxGeneric(want, x, rows, cols, scale, mask)
				off := cols % 4
				out := newGuarded(len(x), off, fillUnwritten)
				y := out.s()
				impl(y, x, rows, cols, scale, mask)
				out.checkGuards(t, fmt.Sprintf("%s cols=%d", v, cols))
				for i := range want {
					if !closeTo(y[i], want[i], softmaxAbs, softmaxRel) {
						t.Fatalf("%s rows=%d cols=%d mask=%v: y[%d] = %g, want %g (x=%g)", v, rows, cols, withMask, i, y[i], want[i], x[i])
					}
					if d := math.Abs(float64(y[i]) - float64(want[i])); d > 0 {
						worst = max(worst, d/(softmaxAbs+softmaxRel*math.Abs(float64(want[i]))))
					}
				}
				if rows > 1 {
					for c := 0; c < cols; c++ {
						if y[cols+c] != 0 {
							t.Fatalf("%s cols=%d: fully masked row: y[%d] = %g, want 0", v, cols, c, y[cols+c])
						}
					}
				}
				// In place (y and x the same slice) gives the same result.
				in := slices.Clone(x)
				impl(in, in, rows, cols, scale, mask)
				for i := range in {
					if math.Float32bits(in[i]) != math.Float32bits(y[i]) {
						t.Fatalf("%s cols=%d: in place y[%d] = %g, out of place %g", v, cols, i, in[i], y[i])
					}
				}
			}
		}
		t.Logf("softmax %s: worst error %.3f of the tolerance", v, worst)
	})
}

// TestSoftmaxRowsSpecial checks rows with NaN and ±Inf against the reference.
func TestSoftmaxRowsSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := [][]float32{
		{inf, 0, 1},
		{-inf, -inf, -inf},
		{nan, -inf, -inf},
		{-inf, 3, -inf},
		{-inf, -inf, nan, 1},
		{math.MaxFloat32, -math.MaxFloat32, 0},
	}
	forEachVariant(t, softmaxOp, func(t *testing.T, v Variant, impl softmaxFunc) {
		for _, x := range cases {
			for _, cols := range []int{len(x), 37} { // alone, and padded into a longer row
				row := make([]float32, cols)
				for i := range row {
					row[i] = float32(math.Inf(-1))
				}
				copy(row[cols-len(x):], x)
				want := make([]float32, cols)
				softmaxGeneric(want, row, 1, cols, 1, nil)
				got := make([]float32, cols)
				impl(got, row, 1, cols, 1, nil)
				for i := range want {
					if !closeTo(got[i], want[i], softmaxAbs, softmaxRel) {
						t.Errorf("%s x=%v: y[%d] = %g, want %g", v, row, i, got[i], want[i])
					}
				}
			}
		}
	})
}

func TestSoftmaxRowsBackwardVariants(t *testing.T) {
	forEachVariant(t, softmaxBackwardOp, func(t *testing.T, v Variant, impl softmaxBwdFunc) {
		rng := rand.New(rand.NewPCG(9, uint64(v)))
		worst := 0.0
		for _, cols := range softmaxWidths() {
			rows := 2
			x, _ := softmaxInput(rng, 1, cols*rows, false)
			y := make([]float32, len(x))
			softmaxGeneric(y, x, rows, cols, 1, nil)
			dy := make([]float32, len(x))
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			const scale = 0.125
			want := make([]float32, len(x))
			softmaxBackwardGeneric(want, y, dy, rows, cols, scale)
			off := (cols + 1) % 4
			out := newGuarded(len(x), off, fillUnwritten)
			dx := out.s()
			impl(dx, y, dy, rows, cols, scale)
			out.checkGuards(t, fmt.Sprintf("%s cols=%d", v, cols))
			// dx = scale·y·(dy - d): the error is relative to scale·y·(|dy| + |d|).
			for r := 0; r < rows; r++ {
				var d float64
				for c := 0; c < cols; c++ {
					d += float64(dy[r*cols+c]) * float64(y[r*cols+c])
				}
				for c := 0; c < cols; c++ {
					i := r*cols + c
					bound := softmaxAbs + softmaxRel*scale*float64(y[i])*(math.Abs(float64(dy[i]))+math.Abs(d))
					diff := math.Abs(float64(dx[i]) - float64(want[i]))
					if !(diff <= bound) {
						t.Fatalf("%s cols=%d: dx[%d] = %g, want %g (bound %g)", v, cols, i, dx[i], want[i], bound)
					}
					worst = max(worst, diff/bound)
				}
			}
			// dx may be the same slice as dy.
			dd := slices.Clone(dy)
			impl(dd, y, dd, rows, cols, scale)
			for i := range dd {
				if math.Float32bits(dd[i]) != math.Float32bits(dx[i]) {
					t.Fatalf("%s cols=%d: in place dx[%d] = %g, out of place %g", v, cols, i, dd[i], dx[i])
				}
			}
		}
		t.Logf("softmax backward %s: worst error %.3f of the tolerance", v, worst)
	})
}

// softmaxF64 is the softmax of one row, scale and mask applied, in float64.
func softmaxF64(x []float64, scale float64, mask []float32) []float64 {
	z := make([]float64, len(x))
	m := math.Inf(-1)
	for c := range x {
		z[c] = scale * x[c]
		if mask != nil {
			z[c] += float64(mask[c])
		}
		m = max(m, z[c])
	}
	var s float64
	for c := range z {
		z[c] = math.Exp(z[c] - m)
		s += z[c]
	}
	for c := range z {
		z[c] /= s
	}
	return z
}

// TestSoftmaxBackwardFiniteDifferences checks every variant of the backward
// kernel against central differences of the float64 softmax, with a scale
// and a mask: dx[c] = Σ_k dy[k] ∂y[k]/∂x[c].
func TestSoftmaxBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	forEachVariant(t, softmaxBackwardOp, func(t *testing.T, v Variant, impl softmaxBwdFunc) {
		for _, cols := range []int{1, 2, 5, 8, 13, 17, 33} {
			const scale = 0.3
			x := make([]float64, cols)
			x32 := make([]float32, cols)
			dy := make([]float32, cols)
			mask := make([]float32, cols)
			for c := range x {
				x32[c] = float32(rng.NormFloat64() * 2)
				x[c] = float64(x32[c])
				dy[c] = float32(rng.NormFloat64())
				if c%3 == 1 {
					mask[c] = -2
				}
			}
			y := make([]float32, cols)
			SoftmaxRows(y, x32, 1, cols, scale, mask)
			dx := make([]float32, cols)
			impl(dx, y, dy, 1, cols, scale)
			const h = 1e-6
			for c := range x {
				xp := append([]float64(nil), x...)
				xm := append([]float64(nil), x...)
				xp[c] += h
				xm[c] -= h
				yp, ym := softmaxF64(xp, scale, mask), softmaxF64(xm, scale, mask)
				var fd float64
				for k := range yp {
					fd += float64(dy[k]) * (yp[k] - ym[k]) / (2 * h)
				}
				if d := math.Abs(float64(dx[c]) - fd); d > 2e-6 {
					t.Errorf("%s cols=%d: dx[%d] = %g, finite difference %g (diff %g)", v, cols, c, dx[c], fd, d)
				}
			}
		}
	})
}
