package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/petl-go/petl/internal/gradcheck"
	"github.com/petl-go/petl/kernels"
	"github.com/stretchr/testify/require"
)

// TestDropoutMaskStream checks that the mask keeps element i exactly when
// the i-th Float32 of the generator is below 1-P (the definition), for
// several P, and leaves the generator where those draws would.
func TestDropoutMaskStream(t *testing.T) {
	for _, p := range []float32{0, 0.1, 0.2, 0.25, 1.0 / 3, 0.5, 0.9, 0.999, 1} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			d := Dropout{P: p}
			const n = 20000
			mask := make([]float32, n)
			got, want := NewRNG(uint64(1000*p)), NewRNG(uint64(1000*p))
			d.Mask(mask, got)
			keep := 1 - p
			kept := 0
			for i, m := range mask {
				w := float32(0)
				if want.Float32() < keep {
					w = 1 / keep
					kept++
				}
				require.Equal(t, math.Float32bits(w), math.Float32bits(m), "element %d", i)
			}
			require.Equal(t, *want, *got)
			require.InDelta(t, float64(keep), float64(kept)/n, 0.02)
		})
	}
}

// TestDropoutRows checks Apply against Forward, and MaskRows and ApplyRows
// on chunks against the whole tensor's mask at the chunks' places.
func TestDropoutRows(t *testing.T) {
	d := Dropout{P: 0.3}
	rng := NewRNG(7)
	x := gradcheck.Rand(rng, 6*40, 1)
	for _, tc := range []struct{ n, stride int }{{40, 40}, {8, 40}, {1, 40}, {40, 240}} {
		t.Run(fmt.Sprintf("n%d_stride%d", tc.n, tc.stride), func(t *testing.T) {
			chunks := len(x) / tc.stride
			full := make([]float32, chunks*tc.stride)
			start := *NewRNG(3)
			r := start
			d.Mask(full, &r)
			end := r

			var xs, want, wantY []float32 // the chunks of x, of the whole mask, of x ⊙ mask
			for c := 0; c < chunks; c++ {
				lo := c * tc.stride
				xs = append(xs, x[lo:lo+tc.n]...)
				want = append(want, full[lo:lo+tc.n]...)
			}
			for i, m := range want {
				wantY = append(wantY, xs[i]*m)
			}
			mask, y := make([]float32, len(xs)), make([]float32, len(xs))
			r = start
			d.MaskRows(mask, tc.n, tc.stride, &r)
			require.Equal(t, want, mask)
			require.Equal(t, end, r, "the generator ends where the whole mask leaves it")
			r = start
			d.ApplyRows(y, xs, tc.n, tc.stride, &r)
			require.Equal(t, wantY, y)
			require.Equal(t, end, r)
			r = start
			d.ApplyRows(xs, xs, tc.n, tc.stride, &r) // in place
			require.Equal(t, wantY, xs)
		})
	}
	y, mask, y2 := make([]float32, len(x)), make([]float32, len(x)), make([]float32, len(x))
	r1, r2 := NewRNG(5), NewRNG(5)
	d.Forward(y, mask, x, r1)
	d.Apply(y2, x, r2)
	require.Equal(t, y, y2)
	require.Equal(t, *r1, *r2)
	require.Panics(t, func() { d.ApplyRows(y[:10], x[:10], 3, 5, r1) }, "chunks that do not tile the slice")
	require.Panics(t, func() { d.MaskRows(y[:10], 5, 4, r1) }, "stride shorter than a chunk")
	d.Apply(nil, nil, r1) // nothing to do
}

func TestRNGSkip(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		a, b := NewRNG(11), NewRNG(11)
		for i := 0; i < n; i++ {
			a.Uint64()
		}
		b.Skip(n)
		require.Equal(t, a.Uint64(), b.Uint64(), "skip %d", n)
	}
}

// TestDropoutThreads checks that a dropout large enough for the kernel
// threads to share gives, at 3 threads, the mask and products of one
// thread bit for bit, through Apply, MaskRows (chunks) and ApplyAt, and
// moves the generator the same way.
func TestDropoutThreads(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	d := Dropout{P: 0.1}
	const C = 96
	n := (5*dropBlock/(3*C) + 41) * 3 * C // several blocks, not a whole number of them
	x := gradcheck.Rand(NewRNG(3), n, 1)
	at := make([]int32, n/C)
	for i := range at {
		at[i] = int32((i * 7919) % (2 * len(at))) // rows of a tensor twice as large, out of order
	}
	run := func() [][]float32 {
		rng := NewRNG(11)
		y1, y2, y3 := make([]float32, n), make([]float32, n), make([]float32, n)
		d.Apply(y1, x, rng)
		d.MaskRows(y2, 3*C, 5*C, rng)
		d.ApplyAt(y3, x, C, at, C, *rng)
		return [][]float32{y1, y2, y3, {float32(rng.Float64())}}
	}
	kernels.SetThreads(1)
	want := run()
	kernels.SetThreads(3)
	require.Equal(t, want, run())
}
