package nn

import "github.com/petl-go/petl/kernels"

// ForwardVarLen is attention over B sequences of their own lengths packed
// one after another without padding, for inference (no dropout): sequence
// s has the query rows [qOff[s], qOff[s+1]) of q and ctx and the key and
// value rows [kOff[s], kOff[s+1]) of k and v, and its queries attend to
// its keys alone, every key being real (no mask). Each of its heads is
// computed as ForwardBySeq computes it for that sequence alone (B = 1,
// Tq = its query rows, T = its key rows, no mask), bit for bit.
//
// The B*NH heads are split between the threads (kernels.ParallelFor), in
// contiguous runs of about equal cost (a head costs about Tq*T), so that
// sequences of very different lengths share the threads evenly; the
// kernels inside run on their caller's goroutine. Scratch [workers, Tq*T]
// (the largest Tq*T of a sequence, one per worker) comes from ar and is
// released before return.
//
//	ctx   [qOff[B], C]  rows of the sequences overwritten
//	q     [qOff[B], C]
//	k, v  [kOff[B], C]
//	qOff  [B+1]         non-decreasing row offsets
//	kOff  [B+1]         non-decreasing row offsets; a sequence with queries has keys
func (a *Attention) ForwardVarLen(ctx, q, k, v []float32, qOff, kOff []int, ar *Arena) {
	a.runVarLen(varLenArgs{ctx: ctx, q: q, k: k, v: v, qOff: qOff, kOff: kOff}, 1, ar)
}

// ForwardRagged is ForwardVarLen in training: with dropout on the
// probabilities, each element getting the mask that ForwardBySeq draws on
// the padded batch [B, NH, T, T] whose sequence s holds the keys of s
// (positions 0 to kOff[s+1]-kOff[s]-1) and its queries at positions qpos
// [qOff[B]] (a full self-attention: 0, 1, ... in order). With dropout rng
// ends where ForwardBySeq leaves it (past B*NH*T*T draws). Up to rounding, its
// context rows are those of ForwardQueries on that padded batch with the
// key mask of its lengths, as the masked keys' probabilities are 0.
// Without dropout rng does not move, as in ForwardBySeq.
func (a *Attention) ForwardRagged(ctx, q, k, v []float32, qOff, kOff []int, qpos []int32, T int, drop Dropout, rng *RNG, ar *Arena) {
	j := varLenArgs{ctx: ctx, q: q, k: k, v: v, qOff: qOff, kOff: kOff}
	if drop.P > 0 {
		j.drop, j.qpos, j.T, j.rng = drop, qpos, T, *rng
	}
	a.runVarLen(j, 1, ar)
	if drop.P > 0 {
		rng.Skip((len(qOff) - 1) * a.NH * T * T)
	}
}

// BackwardRagged accumulates the gradients of ForwardRagged given dctx,
// recomputing each head's probabilities and dropout; rng is the generator
// state ForwardRagged started from (a copy). The heads are split between
// the threads as in ForwardVarLen; each writes only its own columns of
// its own sequence's rows. Scratch [workers, 4, Tq*T] comes from ar.
//
//	dq     [qOff[B], C]  += gradients
//	dk, dv [kOff[B], C]  += gradients
//	dctx, q [qOff[B], C]
//	k, v   [kOff[B], C]
func (a *Attention) BackwardRagged(dq, dk, dv, dctx, q, k, v []float32, qOff, kOff []int, qpos []int32, T int, drop Dropout, rng RNG, ar *Arena) {
	j := varLenArgs{ctx: dctx, q: q, k: k, v: v, qOff: qOff, kOff: kOff, dq: dq, dk: dk, dv: dv, backward: true}
	if drop.P > 0 {
		j.drop, j.qpos, j.T, j.rng = drop, qpos, T, rng
	}
	a.runVarLen(j, 4, ar)
}

// runVarLen splits the heads of j between the threads, with scratch of
// perHead probability matrices per worker.
func (a *Attention) runVarLen(j varLenArgs, perHead int, ar *Arena) {
	B := len(j.qOff) - 1
	if B <= 0 {
		return
	}
	maxQK, total := 0, 0
	for s := 0; s < B; s++ {
		tq, t := j.qOff[s+1]-j.qOff[s], j.kOff[s+1]-j.kOff[s]
		maxQK = max(maxQK, tq*t)
		total += a.NH * headCost(tq, t)
	}
	workers := min(kernels.Threads(), B*a.NH)
	m := ar.Mark()
	j.a, j.workers, j.pLen, j.total = a, workers, perHead*maxQK, total
	j.p = ar.Alloc(workers * j.pLen)
	varLenJobs.Run(workers, j)
	ar.Release(m)
}

// headCost is the cost, in the units ForwardVarLen balances, of one head of
// a sequence with tq queries and t keys: its products and softmax grow
// with tq*t; the constant stands for the calls' fixed cost.
func headCost(tq, t int) int {
	if tq == 0 {
		return 0
	}
	return tq*t + 64
}

// varLenArgs are the operands of ForwardVarLen, split between goroutines
// by varLenJobs (no closure, so no allocation per call).
type varLenArgs struct {
	a             *Attention
	ctx, q, k, v  []float32 // ctx is dctx in the backward pass
	p             []float32 // [workers, pLen] scratch probabilities
	qOff, kOff    []int
	workers, pLen int
	total         int // the cost of every head

	drop Dropout // P = 0: none
	qpos []int32 // the query rows' positions in their sequences (dropout)
	T    int     // the padded length whose [B, NH, T, T] mask the dropout draws
	rng  RNG     // the generator before the dropout

	backward   bool
	dq, dk, dv []float32
}

var varLenJobs = kernels.NewJobs(func(j *varLenArgs, lo, hi int) {
	for w := lo; w < hi; w++ {
		j.run(w)
	}
})

// run computes worker w's heads: those, in the order (sequence, head),
// whose cumulative cost before them lies in [w*total/workers,
// (w+1)*total/workers). The ranges of all workers partition [0, total), so
// every head is computed once.
func (j *varLenArgs) run(w int) {
	a := j.a
	C, HD := a.NH*a.HD, a.HD
	lo, hi := j.total*w/j.workers, j.total*(w+1)/j.workers
	p := j.p[w*j.pLen : (w+1)*j.pLen]
	scale := a.Scale()
	acc := 0 // cost of the heads before the current one
	for s := 0; s+1 < len(j.qOff) && acc < hi; s++ {
		q0, k0 := j.qOff[s], j.kOff[s]
		tq, t := j.qOff[s+1]-q0, j.kOff[s+1]-k0
		c := headCost(tq, t)
		if acc+a.NH*c <= lo { // every head of s is before this worker's range
			acc += a.NH * c
			continue
		}
		for h := 0; h < a.NH && acc < hi; h, acc = h+1, acc+c {
			if acc < lo || tq == 0 {
				continue
			}
			// As head does for one sequence without a mask.
			ph := p[:tq*t]
			kernels.Sgemm(false, true, tq, t, HD, 1, j.q[q0*C+h*HD:], C, j.k[k0*C+h*HD:], C, 0, ph, t)
			kernels.SoftmaxRows(ph, ph, tq, t, scale, nil)
			if j.backward {
				j.headBackward(p, ph, s, h, q0, k0, tq, t)
				continue
			}
			if j.drop.P > 0 {
				j.drop.ApplyAt(ph, ph, t, j.qpos[q0:q0+tq], j.T, j.headRNG(s, h))
			}
			kernels.Sgemm(false, false, tq, HD, t, 1, ph, t, j.v[k0*C+h*HD:], C, 0, j.ctx[q0*C+h*HD:], C)
		}
	}
}

// headRNG is the generator state before the dropout mask of head h of
// sequence s over [B, NH, T, T].
func (j *varLenArgs) headRNG(s, h int) RNG {
	r := j.rng
	r.Skip((s*j.a.NH + h) * j.T * j.T)
	return r
}

// headBackward accumulates the gradients of head h of sequence s given its
// probabilities probs [tq, t], with the rest of the worker's scratch p.
func (j *varLenArgs) headBackward(p, probs []float32, s, h, q0, k0, tq, t int) {
	a := j.a
	C, HD := a.NH*a.HD, a.HD
	n := tq * t
	dp, used, mask := p[n:2*n], probs, []float32(nil)
	if j.drop.P > 0 {
		used, mask = p[2*n:3*n], p[3*n:4*n]
		j.drop.MaskAt(mask, t, j.qpos[q0:q0+tq], j.T, j.headRNG(s, h))
		for i, mv := range mask {
			used[i] = probs[i] * mv
		}
	}
	qo, ko := q0*C+h*HD, k0*C+h*HD
	// dused = dctx·vᵀ; dv += usedᵀ·dctx
	kernels.Sgemm(false, true, tq, t, HD, 1, j.ctx[qo:], C, j.v[ko:], C, 0, dp, t)
	kernels.Sgemm(true, false, t, HD, tq, 1, used, t, j.ctx[qo:], C, 1, j.dv[ko:], C)
	if mask != nil {
		for i, mv := range mask {
			dp[i] *= mv
		}
	}
	// dscores = scale · softmax'(dp); dq += dscores·k; dk += dscoresᵀ·q
	kernels.SoftmaxRowsBackward(dp, probs, dp, tq, t, a.Scale())
	kernels.Sgemm(false, false, tq, HD, t, 1, dp, t, j.k[ko:], C, 1, j.dq[qo:], C)
	kernels.Sgemm(true, false, t, HD, tq, 1, dp, t, j.q[qo:], C, 1, j.dk[ko:], C)
}
