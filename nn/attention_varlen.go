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
	B := len(qOff) - 1
	if B <= 0 {
		return
	}
	maxQK, total := 0, 0
	for s := 0; s < B; s++ {
		tq, t := qOff[s+1]-qOff[s], kOff[s+1]-kOff[s]
		maxQK = max(maxQK, tq*t)
		total += a.NH * headCost(tq, t)
	}
	workers := min(kernels.Threads(), B*a.NH)
	m := ar.Mark()
	p := ar.Alloc(workers * maxQK)
	varLenJobs.Run(workers, varLenArgs{a: a, ctx: ctx, q: q, k: k, v: v, p: p, qOff: qOff, kOff: kOff,
		workers: workers, pLen: maxQK, total: total})
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
	ctx, q, k, v  []float32
	p             []float32 // [workers, pLen] scratch probabilities
	qOff, kOff    []int
	workers, pLen int
	total         int // the cost of every head
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
			kernels.Sgemm(false, false, tq, HD, t, 1, ph, t, j.v[k0*C+h*HD:], C, 0, j.ctx[q0*C+h*HD:], C)
		}
	}
}
