package nn

import (
	"math"

	"github.com/petl-go/petl/kernels"
)

// Attention is multi-head scaled dot-product self-attention: what BERT's
// self-attention does between the query/key/value projections and the output
// projection. Rows are tokens laid out [B*T, C] with the heads side by side
// in the columns (head h in columns [h*HD, (h+1)*HD)), as the projections
// produce them, so no transpose is ever materialised.
//
// The mask is additive over keys, one row of T per sequence: 0 for a real
// token and a large negative number (BERT uses -10000) for padding, so a
// padded key gets probability exp(-10000) = 0 in float32.
type Attention struct {
	NH, HD int // heads, head size (C = NH*HD)
}

// Scale returns 1/√HD, the factor applied to q·kᵀ.
func (a *Attention) Scale() float32 { return float32(1 / math.Sqrt(float64(a.HD))) }

// Forward computes ctx = softmax(q·kᵀ/√HD + mask)·v per sequence and head.
//
//	ctx   [B*T, C]       output, overwritten
//	probs [B, NH, T, T]  attention probabilities, overwritten (saved for Backward)
//	q,k,v [B*T, C]       projections
//	mask  [B, T]         additive key mask; nil for none
func (a *Attention) Forward(ctx, probs, q, k, v, mask []float32, B, T int) {
	a.Probs(probs, q, k, mask, B, T)
	a.Context(ctx, probs, v, B, T)
}

// Probs computes the attention probabilities probs = softmax(q·kᵀ/√HD + mask),
// the first half of Forward (training applies dropout to them before Context).
//
//	probs [B, NH, T, T]  overwritten
//	q, k  [B*T, C]
//	mask  [B, T]         nil for none
func (a *Attention) Probs(probs, q, k, mask []float32, B, T int) {
	a.ProbsQ(probs, q, k, mask, B, T, T)
}

// ProbsQ is Probs for Tq queries per sequence attending to T keys (Tq = T
// in self-attention; Tq = 1 for the [CLS] query alone).
//
//	probs [B, NH, Tq, T]  overwritten
//	q     [B*Tq, C]
//	k     [B*T, C]
//	mask  [B, T]          nil for none
func (a *Attention) ProbsQ(probs, q, k, mask []float32, B, Tq, T int) {
	C, HD := a.NH*a.HD, a.HD
	for b := 0; b < B; b++ {
		for h := 0; h < a.NH; h++ {
			p := probs[(b*a.NH+h)*Tq*T:]
			kernels.Sgemm(false, true, Tq, T, HD, 1, q[b*Tq*C+h*HD:], C, k[b*T*C+h*HD:], C, 0, p, T)
		}
		var m []float32
		if mask != nil {
			m = mask[b*T : (b+1)*T]
		}
		pb := probs[b*a.NH*Tq*T : (b+1)*a.NH*Tq*T]
		kernels.SoftmaxRows(pb, pb, a.NH*Tq, T, a.Scale(), m)
	}
}

// Context computes ctx = probs·v per sequence and head, the second half of
// Forward.
//
//	ctx   [B*T, C]       overwritten
//	probs [B, NH, T, T]
//	v     [B*T, C]
func (a *Attention) Context(ctx, probs, v []float32, B, T int) {
	a.ContextQ(ctx, probs, v, B, T, T)
}

// ContextQ is Context for Tq queries per sequence (see ProbsQ).
//
//	ctx   [B*Tq, C]       overwritten
//	probs [B, NH, Tq, T]
//	v     [B*T, C]
func (a *Attention) ContextQ(ctx, probs, v []float32, B, Tq, T int) {
	C, HD := a.NH*a.HD, a.HD
	for b := 0; b < B; b++ {
		for h := 0; h < a.NH; h++ {
			p := probs[(b*a.NH+h)*Tq*T:]
			kernels.Sgemm(false, false, Tq, HD, T, 1, p, T, v[b*T*C+h*HD:], C, 0, ctx[b*Tq*C+h*HD:], C)
		}
	}
}

// Backward accumulates the gradients of Forward given dctx. probs are the
// saved softmax outputs; used are the probabilities Context actually
// multiplied (probs after dropout, or probs itself without dropout) and
// dropMask the dropout mask (nil without dropout). Scratch [T, T] comes from
// the arena.
//
//	dq, dk, dv [B*T, C]       += gradients
//	dctx       [B*T, C]
//	probs      [B, NH, T, T]
//	used       [B, NH, T, T]
//	dropMask   [B, NH, T, T]  nil for none
//	q, k, v    [B*T, C]
func (a *Attention) Backward(dq, dk, dv, dctx, probs, used, dropMask, q, k, v []float32, B, T int, ar *Arena) {
	C, HD := a.NH*a.HD, a.HD
	m := ar.Mark()
	dp := ar.Alloc(T * T)
	for b := 0; b < B; b++ {
		for h := 0; h < a.NH; h++ {
			off := b*T*C + h*HD
			po := (b*a.NH + h) * T * T
			// dused = dctx·vᵀ; dv += usedᵀ·dctx
			kernels.Sgemm(false, true, T, T, HD, 1, dctx[off:], C, v[off:], C, 0, dp, T)
			kernels.Sgemm(true, false, T, HD, T, 1, used[po:], T, dctx[off:], C, 1, dv[off:], C)
			if dropMask != nil {
				for i, mv := range dropMask[po : po+T*T] {
					dp[i] *= mv
				}
			}
			// dscores = scale · softmax'(dp); dq += dscores·k; dk += dscoresᵀ·q
			kernels.SoftmaxRowsBackward(dp, probs[po:po+T*T], dp, T, T, a.Scale())
			kernels.Sgemm(false, false, T, HD, T, 1, dp, T, k[off:], C, 1, dq[off:], C)
			kernels.Sgemm(true, false, T, HD, T, 1, dp, T, q[off:], C, 1, dk[off:], C)
		}
	}
	ar.Release(m)
}

// ForwardBySeq computes ctx = dropout(softmax(q·kᵀ/√HD + mask))·v for Tq
// queries per sequence attending to T keys, one sequence at a time, so
// that the probabilities are never stored whole: they are scratch
// [NH, Tq, T] from ar, released before return. Training keeps q, k and v
// and BackwardBySeq recomputes the probabilities from them. Without
// dropout (drop.P = 0; rng may then be nil) the result is bit for bit that
// of ProbsQ then ContextQ.
//
// The dropout mask is drawn from rng as Dropout.Mask over the whole
// probabilities [B, NH, T, T] of T queries would draw it, the Tq queries
// of a sequence being its first Tq (Dropout.MaskRows): with Tq < T they
// get the mask a full pass gives those rows, and rng ends where a full
// pass would leave it.
//
//	ctx   [B*Tq, C]  overwritten
//	q     [B*Tq, C]
//	k, v  [B*T, C]
//	mask  [B, T]     additive key mask; nil for none
func (a *Attention) ForwardBySeq(ctx, q, k, v, mask []float32, B, Tq, T int, drop Dropout, rng *RNG, ar *Arena) {
	a.ForwardQueries(ctx, q, k, v, mask, nil, B, Tq, T, drop, rng, ar)
}

// ForwardQueries is ForwardBySeq for Tq queries per sequence at any of its
// positions: qpos [B*Tq] holds the position in its sequence of each query
// row (nil: the first Tq), which only the dropout reads, so that every
// query row gets the mask a full pass gives that row. A position may
// repeat.
func (a *Attention) ForwardQueries(ctx, q, k, v, mask []float32, qpos []int32, B, Tq, T int, drop Dropout, rng *RNG, ar *Arena) {
	C, n := a.NH*a.HD, a.NH*Tq*T
	m := ar.Mark()
	p := ar.Alloc(n)
	for b := 0; b < B; b++ {
		if drop.P == 0 && a.NH > 1 && kernels.Threads() > 1 {
			// Without dropout the heads are independent: split them
			// between the threads, each head's products and softmax on one
			// goroutine, rather than every small product between them.
			headJobs.Run(a.NH, headArgs{a, ctx[b*Tq*C:], p, q[b*Tq*C:], k[b*T*C:], v[b*T*C:], seqMask(mask, b, T), Tq, T})
			continue
		}
		a.ProbsQ(p, q[b*Tq*C:], k[b*T*C:], seqMask(mask, b, T), 1, Tq, T)
		if drop.P > 0 {
			dropQueries(drop, p, qpos, b, a.NH, Tq, T, rng)
		}
		a.ContextQ(ctx[b*Tq*C:], p, v[b*T*C:], 1, Tq, T)
	}
	ar.Release(m)
}

// headArgs are the operands of the heads of one sequence, split between
// goroutines by headJobs (no closure, so no allocation per call).
type headArgs struct {
	a                   *Attention
	ctx, p, q, k, v, mb []float32
	Tq, T               int
}

var headJobs = kernels.NewJobs(func(h *headArgs, lo, hi int) {
	for i := lo; i < hi; i++ {
		h.a.head(h.ctx, h.p, h.q, h.k, h.v, h.mb, i, h.Tq, h.T)
	}
})

// head computes head h of one sequence without dropout, as ProbsQ then
// ContextQ do for B = 1: probabilities into p[h*Tq*T:], context into ctx's
// columns of head h.
func (a *Attention) head(ctx, p, q, k, v, mask []float32, h, Tq, T int) {
	C, HD := a.NH*a.HD, a.HD
	ph := p[h*Tq*T : (h+1)*Tq*T]
	kernels.Sgemm(false, true, Tq, T, HD, 1, q[h*HD:], C, k[h*HD:], C, 0, ph, T)
	kernels.SoftmaxRows(ph, ph, Tq, T, a.Scale(), mask)
	kernels.Sgemm(false, false, Tq, HD, T, 1, ph, T, v[h*HD:], C, 0, ctx[h*HD:], C)
}

// BackwardBySeq accumulates the gradients of ForwardBySeq given dctx,
// recomputing the probabilities (and their dropout) of one sequence and
// head at a time from q, k and mask. rng must be the generator state
// ForwardBySeq started from (it is a copy; the caller's generator does not
// move). Scratch [4, Tq, T] comes from ar and is released before return.
// For Tq = T the result is bit for bit that of Backward given the stored
// probabilities.
//
//	dq         [B*Tq, C]  += gradients
//	dk, dv     [B*T, C]   += gradients
//	dctx, q    [B*Tq, C]
//	k, v       [B*T, C]
//	mask       [B, T]     nil for none
func (a *Attention) BackwardBySeq(dq, dk, dv, dctx, q, k, v, mask []float32, B, Tq, T int, drop Dropout, rng RNG, ar *Arena) {
	a.BackwardQueries(dq, dk, dv, dctx, q, k, v, mask, nil, B, Tq, T, drop, rng, ar)
}

// BackwardQueries is BackwardBySeq for the query positions qpos of
// ForwardQueries (nil: the first Tq of every sequence).
func (a *Attention) BackwardQueries(dq, dk, dv, dctx, q, k, v, mask []float32, qpos []int32, B, Tq, T int, drop Dropout, rng RNG, ar *Arena) {
	C, HD, n := a.NH*a.HD, a.HD, Tq*T
	m := ar.Mark()
	probs, dp := ar.Alloc(n), ar.Alloc(n)
	used, dropMask := probs, []float32(nil)
	if drop.P > 0 {
		used, dropMask = ar.Alloc(n), ar.Alloc(n)
	}
	for b := 0; b < B; b++ {
		for h := 0; h < a.NH; h++ {
			qo, ko := b*Tq*C+h*HD, b*T*C+h*HD // this head's columns in the query and key rows
			// The probabilities as ProbsQ computes them (softmax works row by
			// row, so one head's rows at a time give the same values).
			kernels.Sgemm(false, true, Tq, T, HD, 1, q[qo:], C, k[ko:], C, 0, probs, T)
			kernels.SoftmaxRows(probs, probs, Tq, T, a.Scale(), seqMask(mask, b, T))
			if dropMask != nil { // this head's rows of the mask over [B, NH, T, T]
				if qpos == nil {
					drop.MaskRows(dropMask, n, T*T, &rng)
				} else {
					drop.MaskAt(dropMask, T, qpos[b*Tq:(b+1)*Tq], T, rng)
					rng.Skip(T * T)
				}
				for i, mv := range dropMask {
					used[i] = probs[i] * mv
				}
			}
			// dused = dctx·vᵀ; dv += usedᵀ·dctx
			kernels.Sgemm(false, true, Tq, T, HD, 1, dctx[qo:], C, v[ko:], C, 0, dp, T)
			kernels.Sgemm(true, false, T, HD, Tq, 1, used, T, dctx[qo:], C, 1, dv[ko:], C)
			if dropMask != nil {
				for i, mv := range dropMask {
					dp[i] *= mv
				}
			}
			// dscores = scale · softmax'(dp); dq += dscores·k; dk += dscoresᵀ·q
			kernels.SoftmaxRowsBackward(dp, probs, dp, Tq, T, a.Scale())
			kernels.Sgemm(false, false, Tq, HD, T, 1, dp, T, k[ko:], C, 1, dq[qo:], C)
			kernels.Sgemm(true, false, T, HD, Tq, 1, dp, T, q[qo:], C, 1, dk[ko:], C)
		}
	}
	ar.Release(m)
}

// dropQueries applies the dropout of sequence b's probabilities p [NH, Tq,
// T] and moves rng past the whole sequence's [NH, T, T]: the query rows
// are the first Tq (qpos nil) or at qpos[b*Tq:(b+1)*Tq].
func dropQueries(drop Dropout, p []float32, qpos []int32, b, NH, Tq, T int, rng *RNG) {
	if qpos == nil {
		drop.ApplyRows(p, p, Tq*T, T*T, rng)
		return
	}
	for h := 0; h < NH; h++ {
		r := *rng
		r.Skip(h * T * T)
		ph := p[h*Tq*T : (h+1)*Tq*T]
		drop.ApplyAt(ph, ph, T, qpos[b*Tq:(b+1)*Tq], T, r)
	}
	rng.Skip(NH * T * T)
}

// seqMask returns sequence b's row of the key mask (nil for none).
func seqMask(mask []float32, b, T int) []float32 {
	if mask == nil {
		return nil
	}
	return mask[b*T : (b+1)*T]
}
