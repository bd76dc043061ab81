// Package gradcheck holds what the tests of hand-written backward passes
// share: float64 copies, random inputs, central finite differences and a
// tolerance check that logs the worst difference.
package gradcheck

import (
	"math"
	"testing"
)

// To64 returns x widened to float64.
func To64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// Source is a generator of uniform numbers in [0, 1) (nn.RNG is one).
type Source interface{ Float64() float64 }

// Rand returns n values uniform in [-scale, scale) drawn from rng.
func Rand(rng Source, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(scale * (2*rng.Float64() - 1))
	}
	return s
}

// NumGrad returns the central-difference gradient of f with respect to x,
// with the step eps·max(1, |x_i|) for element i. x is perturbed in place
// and restored.
func NumGrad(f func() float64, x []float64, eps float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		h := eps * max(1, math.Abs(x[i]))
		old := x[i]
		x[i] = old + h
		fp := f()
		x[i] = old - h
		fm := f()
		x[i] = old
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// MaxDiff returns max |a-b| and max |b|.
func MaxDiff(a []float32, b []float64) (d, m float64) {
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-b[i]))
		m = max(m, math.Abs(b[i]))
	}
	return d, m
}

// RequireClose logs the largest difference between got and want and fails
// the test unless it is at most tol·max(1, max|want|).
func RequireClose(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	d, m := MaxDiff(got, want)
	t.Logf("%-14s max|diff| %.3g (max|want| %.3g)", what, d, m)
	if d > tol*max(1, m) {
		t.Fatalf("%s: max abs difference %g exceeds %g", what, d, tol*max(1, m))
	}
}
