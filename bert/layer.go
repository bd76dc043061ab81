package bert

import (
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// Layer is one BERT encoder layer (post-norm):
//
//	a  = AttnOut(Attention(Query(x), Key(x), Value(x), mask))
//	h1 = AttnLN(x + AttnAdapter(dropout(a)))
//	f  = FFOut(GELU(FFIn(h1)))
//	y  = FFLN(h1 + FFAdapter(dropout(f)))
//
// The adapters are nil when absent (then they are the identity).
type Layer struct {
	Query, Key, Value nn.Linear // [C, C] each
	Attn              nn.Attention
	AttnOut           nn.Linear // [C, C]
	AttnLN            nn.LayerNorm
	FFIn              nn.Linear // [I, C]
	FFOut             nn.Linear // [C, I]
	FFLN              nn.LayerNorm

	AttnAdapter Adapter // after AttnOut, before the residual add; nil for none
	FFAdapter   Adapter // after FFOut, before the residual add; nil for none

	AttnDrop   nn.Dropout // on the attention probabilities
	HiddenDrop nn.Dropout // on AttnOut's and FFOut's outputs
}

// Params returns the layer's parameters in checkpoint order (adapters
// excluded).
func (l *Layer) Params() []*nn.Param {
	var ps []*nn.Param
	for _, lin := range []*nn.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut} {
		ps = append(ps, lin.Params()...)
	}
	ps = append(ps, l.AttnLN.Params()...)
	ps = append(ps, l.FFIn.Params()...)
	ps = append(ps, l.FFOut.Params()...)
	return append(ps, l.FFLN.Params()...)
}

// trains reports whether the layer has an adapter or a trainable parameter
// (without allocating, unlike Params).
func (l *Layer) trains() bool {
	if l.AttnAdapter != nil || l.FFAdapter != nil {
		return true
	}
	for _, lin := range [...]*nn.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.FFIn, &l.FFOut} {
		if lin.W.Trainable() || (lin.B != nil && lin.B.Trainable()) {
			return true
		}
	}
	for _, ln := range [...]*nn.LayerNorm{&l.AttnLN, &l.FFLN} {
		if ln.Gamma.Trainable() || ln.Beta.Trainable() {
			return true
		}
	}
	return false
}

// inputNeeded reports whether backward reads the layer's input: only the
// gradients of the query, key and value weights do.
func (l *Layer) inputNeeded() bool {
	return l.Query.W.Trainable() || l.Key.W.Trainable() || l.Value.W.Trainable()
}

// layerActs are the activations one layer's backward pass needs, kept by a
// training-mode forward in the state's arena. Only what backward reads is
// kept: a buffer that serves only a frozen weight's gradient is not (nil),
// and dropout masks are regenerated from a copy of the generator rather
// than stored.
type layerActs struct {
	x          []float32 // [B*T, C] input; nil when inputNeeded is false
	q, k, v    []float32 // [B*T, C]
	probs      []float32 // [B, NH, T, T] softmax output (before dropout)
	ctx        []float32 // [B*T, C] attention context; nil when AttnOut is frozen
	attnAdIn   []float32 // [B*T, C] AttnAdapter's input; nil without the adapter
	sum1       []float32 // [B*T, C] x + attention branch: AttnLN's input
	mean1      []float32 // [B*T]
	rstd1      []float32 // [B*T]
	h1         []float32 // [B*T, C] AttnLN output; nil when FFIn is frozen
	ffPre      []float32 // [B*T, I] FFIn output before GELU
	ffAct      []float32 // [B*T, I] GELU output; nil when FFOut is frozen
	ffAdIn     []float32 // [B*T, C] FFAdapter's input; nil without the adapter
	sum2       []float32 // [B*T, C] h1 + feed-forward branch: FFLN's input
	mean2      []float32 // [B*T]
	rstd2      []float32 // [B*T]
	dropProbs  bool      // attention dropout was applied
	dropHidden bool      // hidden dropout was applied
	rngProbs   nn.RNG    // generator before the attention dropout
	rngAttn    nn.RNG    // generator before the dropout on AttnOut's output
	rngFF      nn.RNG    // generator before the dropout on FFOut's output
}

// forward computes out = layer(x). In training mode the activations backward
// needs are kept in st.Arena and recorded in a; everything else is scratch
// in st.Scratch, released on return.
//
//	out [B*T, C]  overwritten
//	x   [B*T, C]
func (l *Layer) forward(a *layerActs, out, x []float32, st *State) {
	l.forwardRows(a, out, x, x, st.T, st)
}

// forwardRows computes the layer's output for Tq query rows per sequence,
// xq, attending to all T rows of x: forward when Tq = T (xq = x), the
// [CLS] rows alone when Tq = 1 (inference only). Keys and values are
// computed for every row; everything after the attention only for the
// query rows.
//
//	out [B*Tq, C]  overwritten
//	x   [B*T, C]
//	xq  [B*Tq, C]
func (l *Layer) forwardRows(a *layerActs, out, x, xq []float32, Tq int, st *State) {
	B, T := st.B, st.T
	BT, C, I := B*T, l.Query.Out, l.FFIn.Out
	R := B * Tq // rows after the attention
	NH := l.Attn.NH
	train := st.Train
	ar, sc := &st.Arena, &st.Scratch
	mark := sc.Mark()
	defer sc.Release(mark)
	keep := func(n int, needed bool) []float32 { // kept for backward, or scratch
		if train && needed {
			return ar.Alloc(n)
		}
		return sc.Alloc(n)
	}
	adAr := sc // adapters keep their own activations in the arena when training
	if train {
		adAr = ar
	}
	dropProbs, dropHidden := l.AttnDrop.Active(train), l.HiddenDrop.Active(train)
	*a = layerActs{dropProbs: dropProbs, dropHidden: dropHidden}

	// Self-attention.
	q, k, v := keep(R*C, true), keep(BT*C, true), keep(BT*C, true)
	l.Query.Forward(q, xq, R)
	l.Key.Forward(k, x, BT)
	l.Value.Forward(v, x, BT)
	probs := keep(B*NH*Tq*T, true)
	l.Attn.ProbsQ(probs, q, k, st.Mask, B, Tq, T)
	used := probs
	if dropProbs {
		a.rngProbs = st.RNG
		used = sc.Alloc(len(probs))
		l.AttnDrop.Forward(used, sc.Alloc(len(probs)), probs, &st.RNG)
	}
	ctx := keep(R*C, l.AttnOut.W.Trainable())
	l.Attn.ContextQ(ctx, used, v, B, Tq, T)
	ao := keep(R*C, l.AttnAdapter != nil && !dropHidden)
	l.AttnOut.Forward(ao, ctx, R)
	if dropHidden {
		a.rngAttn = st.RNG
		d := keep(R*C, l.AttnAdapter != nil)
		l.HiddenDrop.Forward(d, sc.Alloc(R*C), ao, &st.RNG)
		ao = d
	}
	branch := ao
	if l.AttnAdapter != nil {
		branch = sc.Alloc(R * C)
		l.AttnAdapter.Forward(branch, ao, R, adAr, train)
	}

	// Residual add and norm.
	sum1 := keep(R*C, true)
	mean1, rstd1 := l.stats(R, train, ar)
	h1 := keep(R*C, l.FFIn.W.Trainable())
	l.AttnLN.ForwardAdd(h1, sum1, mean1, rstd1, xq, branch, R)

	// Feed-forward.
	ffPre, ffAct := keep(R*I, true), keep(R*I, l.FFOut.W.Trainable())
	l.FFIn.ForwardGELU(ffAct, ffPre, h1, R)
	fo := keep(R*C, l.FFAdapter != nil && !dropHidden)
	l.FFOut.Forward(fo, ffAct, R)
	if dropHidden {
		a.rngFF = st.RNG
		d := keep(R*C, l.FFAdapter != nil)
		l.HiddenDrop.Forward(d, sc.Alloc(R*C), fo, &st.RNG)
		fo = d
	}
	branch = fo
	if l.FFAdapter != nil {
		branch = sc.Alloc(R * C)
		l.FFAdapter.Forward(branch, fo, R, adAr, train)
	}

	sum2 := keep(R*C, true)
	mean2, rstd2 := l.stats(R, train, ar)
	l.FFLN.ForwardAdd(out, sum2, mean2, rstd2, h1, branch, R)

	if !train {
		return
	}
	a.q, a.k, a.v, a.probs = q, k, v, probs
	if l.inputNeeded() {
		a.x = x
	}
	a.sum1, a.mean1, a.rstd1, a.sum2, a.mean2, a.rstd2 = sum1, mean1, rstd1, sum2, mean2, rstd2
	a.ffPre = ffPre
	if l.AttnOut.W.Trainable() {
		a.ctx = ctx
	}
	if l.FFIn.W.Trainable() {
		a.h1 = h1
	}
	if l.FFOut.W.Trainable() {
		a.ffAct = ffAct
	}
	if l.AttnAdapter != nil {
		a.attnAdIn = ao
	}
	if l.FFAdapter != nil {
		a.ffAdIn = fo
	}
}

// stats allocates the layer-norm statistics kept for the backward pass.
func (l *Layer) stats(rows int, train bool, ar *nn.Arena) (mean, rstd []float32) {
	if !train {
		return nil, nil
	}
	return ar.Alloc(rows), ar.Alloc(rows)
}

// backward accumulates the gradients of forward, in exact reverse order,
// given dout = ∂L/∂out; it adds ∂L/∂x into dx. Parameter gradients are
// accumulated for trainable parameters only. It needs the activations of a
// training-mode forward made with the same trainable parameters, and takes
// scratch from st.Scratch (released on return).
//
//	dx   [B*T, C]  += ∂L/∂x
//	dout [B*T, C]
func (l *Layer) backward(a *layerActs, dx, dout []float32, st *State) {
	B, T := st.B, st.T
	BT, C, I := B*T, l.Query.Out, l.FFIn.Out
	sc := &st.Scratch
	mark := sc.Mark()
	defer sc.Release(mark)

	// y = FFLN(h1 + FFAdapter(dropout(FFOut(GELU(FFIn(h1)))))).
	dsum := sc.AllocZero(BT * C) // ∂L/∂sum2, later ∂L/∂sum1
	l.FFLN.Backward(dsum, dout, a.sum2, a.mean2, a.rstd2, BT)
	dh1 := sc.Alloc(BT * C)
	copy(dh1, dsum) // the residual branch
	dfo := l.adaptBackward(l.FFAdapter, dsum, a.ffAdIn, BT, sc)
	dfo = l.dropBackward(dfo, a.dropHidden, a.rngFF, sc)
	dffAct := sc.AllocZero(BT * I)
	l.FFOut.Backward(dffAct, dfo, a.ffAct, BT)
	dffPre := sc.Alloc(BT * I)
	kernels.GELUBackward(dffPre, dffAct, a.ffPre)
	l.FFIn.Backward(dh1, dffPre, a.h1, BT)

	// h1 = AttnLN(x + AttnAdapter(dropout(AttnOut(Attention(x))))).
	clear(dsum)
	l.AttnLN.Backward(dsum, dh1, a.sum1, a.mean1, a.rstd1, BT)
	kernels.Add(dx[:BT*C], dx[:BT*C], dsum) // the residual branch
	dao := l.adaptBackward(l.AttnAdapter, dsum, a.attnAdIn, BT, sc)
	dao = l.dropBackward(dao, a.dropHidden, a.rngAttn, sc)
	dctx := sc.AllocZero(BT * C)
	l.AttnOut.Backward(dctx, dao, a.ctx, BT)
	used, mask := a.probs, []float32(nil)
	if a.dropProbs { // regenerate the mask and the probabilities Context used
		n := len(a.probs)
		used, mask = sc.Alloc(n), sc.Alloc(n)
		rng := a.rngProbs
		l.AttnDrop.Forward(used, mask, a.probs, &rng)
	}
	dq, dk, dv := sc.AllocZero(BT*C), sc.AllocZero(BT*C), sc.AllocZero(BT*C)
	l.Attn.Backward(dq, dk, dv, dctx, a.probs, used, mask, a.q, a.k, a.v, B, T, sc)
	l.Query.Backward(dx, dq, a.x, BT)
	l.Key.Backward(dx, dk, a.x, BT)
	l.Value.Backward(dx, dv, a.x, BT)
}

// adaptBackward returns ∂L/∂x of an adapter given dy = ∂L/∂y and its input
// x; without an adapter it returns dy.
func (l *Layer) adaptBackward(ad Adapter, dy, x []float32, rows int, sc *nn.Arena) []float32 {
	if ad == nil {
		return dy
	}
	dx := sc.AllocZero(len(dy))
	ad.Backward(dx, dy, x, rows, sc)
	return dx
}

// dropBackward returns ∂L/∂x of the hidden dropout given dy, regenerating
// its mask from the generator state rng; without dropout it returns dy.
func (l *Layer) dropBackward(dy []float32, applied bool, rng nn.RNG, sc *nn.Arena) []float32 {
	if !applied {
		return dy
	}
	mask := sc.Alloc(len(dy))
	l.HiddenDrop.Mask(mask, &rng)
	dx := sc.AllocZero(len(dy))
	l.HiddenDrop.Backward(dx, dy, mask)
	return dx
}
