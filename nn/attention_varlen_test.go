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

// TestAttentionRagged checks the training pair ForwardRagged and
// BackwardRagged against ForwardBySeq and BackwardBySeq on the padded
// batch with the key mask of the same lengths: the real rows' context and
// gradients agree (up to rounding), with and without dropout, at 1 to 3
// threads, and the generator ends in the same place.
func TestAttentionRagged(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	for _, p := range []float32{0, 0.3} {
		for _, threads := range []int{1, 3} {
			t.Run(fmt.Sprintf("dropout=%v/threads=%d", p, threads), func(t *testing.T) {
				kernels.SetThreads(threads)
				a := Attention{NH: 3, HD: 4}
				C, T := a.NH*a.HD, 9
				lens := []int{9, 4, 1, 6}
				B := len(lens)
				drop := Dropout{P: p}
				rng := NewRNG(7)
				q, k, v := gradcheck.Rand(rng, B*T*C, 1.5), gradcheck.Rand(rng, B*T*C, 1.5), gradcheck.Rand(rng, B*T*C, 1)
				dctx := gradcheck.Rand(rng, B*T*C, 1)
				mask := make([]float32, B*T)
				off := make([]int, B+1)
				var qpos []int32
				var rows []int // padded row of each packed row
				for s, n := range lens {
					off[s+1] = off[s] + n
					for i := 0; i < T; i++ {
						if i < n {
							qpos, rows = append(qpos, int32(i)), append(rows, s*T+i)
						} else {
							mask[s*T+i] = -10000
							clear(dctx[(s*T+i)*C : (s*T+i+1)*C]) // padding reads nothing
						}
					}
				}
				pack := func(x []float32) []float32 {
					y := make([]float32, len(rows)*C)
					for r, g := range rows {
						copy(y[r*C:(r+1)*C], x[g*C:(g+1)*C])
					}
					return y
				}
				var ar Arena
				g0 := *NewRNG(99)
				ctxPad, gPad := make([]float32, B*T*C), g0
				a.ForwardBySeq(ctxPad, q, k, v, mask, B, T, T, drop, &gPad, &ar)
				dqPad, dkPad, dvPad := make([]float32, B*T*C), make([]float32, B*T*C), make([]float32, B*T*C)
				a.BackwardBySeq(dqPad, dkPad, dvPad, dctx, q, k, v, mask, B, T, T, drop, g0, &ar)

				R := len(rows)
				ctx, g := make([]float32, R*C), g0
				a.ForwardRagged(ctx, pack(q), pack(k), pack(v), off, off, qpos, T, drop, &g, &ar)
				require.Equal(t, gPad, g, "the generator ends where the padded pass leaves it")
				dq, dk, dv := make([]float32, R*C), make([]float32, R*C), make([]float32, R*C)
				a.BackwardRagged(dq, dk, dv, pack(dctx), pack(q), pack(k), pack(v), off, off, qpos, T, drop, g0, &ar)
				for name, pair := range map[string][2][]float32{"ctx": {ctx, ctxPad}, "dq": {dq, dqPad}, "dk": {dk, dkPad}, "dv": {dv, dvPad}} {
					want := pack(pair[1])
					require.Len(t, pair[0], len(want))
					for i := range want {
						require.InDelta(t, want[i], pair[0][i], 2e-6, "%s[%d]", name, i)
					}
				}
			})
		}
	}
}
