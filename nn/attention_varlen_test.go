package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/petl-go/petl/internal/gradcheck"
	"github.com/petl-go/petl/kernels"
	"github.com/stretchr/testify/require"
)

// TestAttentionVarLen checks ForwardVarLen bit for bit against
// ForwardBySeq run on each sequence alone, for every query row and for
// the first query row of each sequence alone (the [CLS] rows), at 1 to 3
// threads, with guard values around the output rows.
func TestAttentionVarLen(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	for _, tc := range []struct {
		NH, HD int
		lens   []int
	}{
		{1, 1, []int{1}}, {3, 4, []int{7, 1, 2, 5}}, {2, 20, []int{1, 33, 2, 17, 64}}, {4, 8, []int{40}},
	} {
		for _, clsOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("NH%dHD%d_lens%v_cls%v", tc.NH, tc.HD, tc.lens, clsOnly), func(t *testing.T) {
				a := Attention{NH: tc.NH, HD: tc.HD}
				C, B := tc.NH*tc.HD, len(tc.lens)
				kOff, qOff := make([]int, B+1), make([]int, B+1)
				for s, n := range tc.lens {
					kOff[s+1], qOff[s+1] = kOff[s]+n, qOff[s]+n
					if clsOnly {
						qOff[s+1] = s + 1
					}
				}
				N, R := kOff[B], qOff[B]
				rng := NewRNG(uint64(N))
				k, v := gradcheck.Rand(rng, N*C, 1.5), gradcheck.Rand(rng, N*C, 1)
				q := gradcheck.Rand(rng, N*C, 1.5)
				if clsOnly { // the first row of each sequence
					for s := 0; s < B; s++ {
						copy(q[s*C:(s+1)*C], k[kOff[s]*C:kOff[s]*C+C])
					}
					q = q[:R*C]
				}

				want := make([]float32, R*C)
				var ar Arena
				kernels.SetThreads(1)
				for s := 0; s < B; s++ {
					tq, T := qOff[s+1]-qOff[s], kOff[s+1]-kOff[s]
					a.ForwardBySeq(want[qOff[s]*C:], q[qOff[s]*C:], k[kOff[s]*C:], v[kOff[s]*C:], nil, 1, tq, T, Dropout{}, nil, &ar)
				}
				for threads := 1; threads <= 3; threads++ {
					kernels.SetThreads(threads)
					guard := float32(math.NaN())
					ctx := make([]float32, R*C+2)
					for i := range ctx {
						ctx[i] = guard
					}
					a.ForwardVarLen(ctx[1:R*C+1], q, k, v, qOff, kOff, &ar)
					require.True(t, math.IsNaN(float64(ctx[0])) && math.IsNaN(float64(ctx[R*C+1])), "guards changed at %d threads", threads)
					for i, w := range want {
						require.Equal(t, math.Float32bits(w), math.Float32bits(ctx[1+i]), "threads %d, element %d", threads, i)
					}
				}
			})
		}
	}
}
