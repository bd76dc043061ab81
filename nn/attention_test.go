package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/petl-go/petl/internal/gradcheck"
	"github.com/petl-go/petl/kernels"
	"github.com/stretchr/testify/require"
)

// TestAttentionBySeq checks ForwardBySeq and BackwardBySeq, which keep no
// probabilities, bit for bit against Forward and Backward given stored
// probabilities (with and without dropout), and their [CLS]-only form
// (Tq = 1) against the first query row of each sequence of the full pass:
// the same context, and the same key and value gradients when only those
// rows carry a gradient.
func TestAttentionBySeq(t *testing.T) {
	for _, tc := range []struct {
		B, T, NH, HD int
		lens         []int
		p            float32
	}{
		{1, 1, 1, 1, []int{1}, 0}, {3, 7, 3, 4, []int{7, 2, 5}, 0}, {3, 7, 3, 4, []int{7, 2, 5}, 0.3},
		{2, 33, 2, 20, []int{1, 33}, 0.1},
	} {
		t.Run(fmt.Sprintf("B%dT%dNH%dHD%d_p%v", tc.B, tc.T, tc.NH, tc.HD, tc.p), func(t *testing.T) {
			rng := NewRNG(uint64(tc.B*7 + tc.T))
			a := Attention{NH: tc.NH, HD: tc.HD}
			drop := Dropout{P: tc.p}
			C, B, T := tc.NH*tc.HD, tc.B, tc.T
			q, k, v := gradcheck.Rand(rng, B*T*C, 1.5), gradcheck.Rand(rng, B*T*C, 1.5), gradcheck.Rand(rng, B*T*C, 1)
			dctx := gradcheck.Rand(rng, B*T*C, 1)
			mask := make([]float32, B*T)
			for b, n := range tc.lens {
				for j := n; j < T; j++ {
					mask[b*T+j] = -10000
				}
			}
			start := *NewRNG(77)

			// Stored probabilities, dropout mask drawn whole.
			probs := make([]float32, B*tc.NH*T*T)
			used, dm := probs, []float32(nil)
			a.Probs(probs, q, k, mask, B, T)
			r := start
			if tc.p > 0 {
				used, dm = make([]float32, len(probs)), make([]float32, len(probs))
				drop.Forward(used, dm, probs, &r)
			}
			end := r
			ctx := make([]float32, B*T*C)
			a.Context(ctx, used, v, B, T)
			dq, dk, dv := make([]float32, B*T*C), make([]float32, B*T*C), make([]float32, B*T*C)
			var ar Arena
			a.Backward(dq, dk, dv, dctx, probs, used, dm, q, k, v, B, T, &ar)

			// One sequence at a time, recomputing; on one goroutine and with
			// the heads split between threads (without dropout).
			ctx2 := make([]float32, B*T*C)
			for _, threads := range []int{1, 2, 3} {
				kernels.SetThreads(threads)
				clear(ctx2)
				r = start
				a.ForwardBySeq(ctx2, q, k, v, mask, B, T, T, drop, &r, &ar)
				require.Equal(t, end, r)
				require.Equal(t, ctx, ctx2, "%d threads", threads)
			}
			kernels.SetThreads(0)
			dq2, dk2, dv2 := make([]float32, B*T*C), make([]float32, B*T*C), make([]float32, B*T*C)
			a.BackwardBySeq(dq2, dk2, dv2, dctx, q, k, v, mask, B, T, T, drop, start, &ar)
			require.Equal(t, dq, dq2)
			require.Equal(t, dk, dk2)
			require.Equal(t, dv, dv2)
			require.Zero(t, ar.Mark(), "scratch released")

			// The [CLS] rows alone: the full pass's first row per sequence,
			// and its key and value gradients when only those rows have one.
			qc, dctxc, ctxc := make([]float32, B*C), make([]float32, B*C), make([]float32, B*C)
			dctx1 := make([]float32, B*T*C)
			for b := 0; b < B; b++ {
				copy(qc[b*C:(b+1)*C], q[b*T*C:])
				copy(dctxc[b*C:(b+1)*C], dctx[b*T*C:])
				copy(dctx1[b*T*C:b*T*C+C], dctx[b*T*C:])
			}
			r = start
			a.ForwardBySeq(ctxc, qc, k, v, mask, B, 1, T, drop, &r, &ar)
			require.Equal(t, end, r, "the generator ends where the full pass leaves it")
			clear(dq)
			clear(dk)
			clear(dv)
			a.Backward(dq, dk, dv, dctx1, probs, used, dm, q, k, v, B, T, &ar)
			dqc, dkc, dvc := make([]float32, B*C), make([]float32, B*T*C), make([]float32, B*T*C)
			a.BackwardBySeq(dqc, dkc, dvc, dctxc, qc, k, v, mask, B, 1, T, drop, start, &ar)
			for b := 0; b < B; b++ {
				requireNear32(t, "ctx[CLS]", ctxc[b*C:(b+1)*C], ctx[b*T*C:b*T*C+C], 1e-6)
				requireNear32(t, "dq[CLS]", dqc[b*C:(b+1)*C], dq[b*T*C:b*T*C+C], 1e-6)
			}
			requireNear32(t, "dk", dkc, dk, 1e-6)
			requireNear32(t, "dv", dvc, dv, 1e-6)
		})
	}
}

// requireNear32 fails unless |got-want| <= tol·max(1, max|want|) everywhere.
func requireNear32(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	require.Len(t, got, len(want), what)
	var d, m float64
	for i := range want {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = max(m, math.Abs(float64(want[i])))
	}
	require.LessOrEqual(t, d, tol*max(1, m), "%s: max abs difference %g", what, d)
}
