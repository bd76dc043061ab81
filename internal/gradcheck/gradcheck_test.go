package gradcheck

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNumGrad(t *testing.T) {
	// f = Σ x_i³ has gradient 3x_i².
	x := []float64{0.5, -2, 3e-3, 40}
	f := func() float64 {
		s := 0.0
		for _, v := range x {
			s += v * v * v
		}
		return s
	}
	g := NumGrad(f, x, 1e-6)
	for i, v := range []float64{0.5, -2, 3e-3, 40} {
		require.Equal(t, v, x[i], "x restored")
		require.InDelta(t, 3*v*v, g[i], 1e-4*max(1, 3*v*v))
	}
}

func TestRandAndClose(t *testing.T) {
	r := Rand(rand.New(rand.NewPCG(1, 2)), 1000, 0.5)
	for _, v := range r {
		require.True(t, v >= -0.5 && v < 0.5, v)
	}
	w := To64(r)
	d, m := MaxDiff(r, w)
	require.Zero(t, d)
	require.LessOrEqual(t, m, 0.5)
	RequireClose(t, "same", r, w, 0)
	w[3] += 1e-3
	d, _ = MaxDiff(r, w)
	require.InDelta(t, 1e-3, d, 1e-9)
}
