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

// layerActs are one layer's activations, kept for the backward pass in
// training (in inference they are scratch reused by the next layer). A
// buffer that a step does not produce (no dropout, no adapter) aliases the
// one before it.
type layerActs struct {
	x         []float32 // [B*T, C] input (the previous layer's output)
	q, k, v   []float32 // [B*T, C]
	probs     []float32 // [B, NH, T, T] softmax output
	probsUsed []float32 // [B, NH, T, T] after dropout (= probs without)
	probsMask []float32 // [B, NH, T, T] dropout mask, nil without
	ctx       []float32 // [B*T, C] attention context
	ao        []float32 // [B*T, C] attention output dense
	aoDrop    []float32 // [B*T, C] after dropout (= ao without)
	aoMask    []float32 // [B*T, C] dropout mask, nil without
	aoAd      []float32 // [B*T, C] after the adapter (= aoDrop without)
	sum1      []float32 // [B*T, C] x + aoAd, LN input
	mean1     []float32 // [B*T] (train only)
	rstd1     []float32 // [B*T] (train only)
	h1        []float32 // [B*T, C] attention block output
	ffPre     []float32 // [B*T, I] FFIn output before GELU
	ffAct     []float32 // [B*T, I] GELU output
	fo        []float32 // [B*T, C] FFOut output
	foDrop    []float32 // [B*T, C] after dropout (= fo without)
	foMask    []float32 // [B*T, C] dropout mask, nil without
	foAd      []float32 // [B*T, C] after the adapter (= foDrop without)
	sum2      []float32 // [B*T, C] h1 + foAd, LN input
	mean2     []float32 // [B*T] (train only)
	rstd2     []float32 // [B*T] (train only)
	out       []float32 // [B*T, C] layer output
}

// forward computes out = layer(x), with the activations in a.
//
//	out [B*T, C]  overwritten
//	x   [B*T, C]
func (l *Layer) forward(a *layerActs, out, x []float32, st *State, ar *nn.Arena) {
	B, T := st.B, st.T
	BT, C, I := B*T, l.Query.Out, l.FFIn.Out
	NH := l.Attn.NH
	train := st.Train
	a.x, a.out = x, out

	// Self-attention.
	a.q, a.k, a.v = ar.Alloc(BT*C), ar.Alloc(BT*C), ar.Alloc(BT*C)
	l.Query.Forward(a.q, x, BT)
	l.Key.Forward(a.k, x, BT)
	l.Value.Forward(a.v, x, BT)
	a.probs = ar.Alloc(B * NH * T * T)
	l.Attn.Probs(a.probs, a.q, a.k, st.Mask, B, T)
	a.probsUsed, a.probsMask = a.probs, nil
	if l.AttnDrop.Active(train) {
		a.probsUsed, a.probsMask = ar.Alloc(len(a.probs)), ar.Alloc(len(a.probs))
		l.AttnDrop.Forward(a.probsUsed, a.probsMask, a.probs, &st.RNG)
	}
	a.ctx = ar.Alloc(BT * C)
	l.Attn.Context(a.ctx, a.probsUsed, a.v, B, T)
	a.ao = ar.Alloc(BT * C)
	l.AttnOut.Forward(a.ao, a.ctx, BT)
	a.aoDrop, a.aoMask = l.dropout(a.ao, st, ar)
	a.aoAd = l.adapt(l.AttnAdapter, a.aoDrop, BT, st, ar)

	// Residual add and norm.
	a.sum1, a.h1 = ar.Alloc(BT*C), ar.Alloc(BT*C)
	a.mean1, a.rstd1 = l.stats(BT, train, ar)
	l.AttnLN.ForwardAdd(a.h1, a.sum1, a.mean1, a.rstd1, x, a.aoAd, BT)

	// Feed-forward.
	a.ffPre, a.ffAct = ar.Alloc(BT*I), ar.Alloc(BT*I)
	l.FFIn.ForwardGELU(a.ffAct, a.ffPre, a.h1, BT)
	a.fo = ar.Alloc(BT * C)
	l.FFOut.Forward(a.fo, a.ffAct, BT)
	a.foDrop, a.foMask = l.dropout(a.fo, st, ar)
	a.foAd = l.adapt(l.FFAdapter, a.foDrop, BT, st, ar)

	a.sum2 = ar.Alloc(BT * C)
	a.mean2, a.rstd2 = l.stats(BT, train, ar)
	l.FFLN.ForwardAdd(out, a.sum2, a.mean2, a.rstd2, a.h1, a.foAd, BT)
}

// dropout applies the hidden dropout to x in training; otherwise it returns x.
func (l *Layer) dropout(x []float32, st *State, ar *nn.Arena) (y, mask []float32) {
	if !l.HiddenDrop.Active(st.Train) {
		return x, nil
	}
	y, mask = ar.Alloc(len(x)), ar.Alloc(len(x))
	l.HiddenDrop.Forward(y, mask, x, &st.RNG)
	return y, mask
}

// adapt applies ad to x (rows of width C); without an adapter it returns x.
func (l *Layer) adapt(ad Adapter, x []float32, rows int, st *State, ar *nn.Arena) []float32 {
	if ad == nil {
		return x
	}
	y := ar.Alloc(len(x))
	ad.Forward(y, x, rows, ar, st.Train)
	return y
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
// training-mode forward, and takes scratch from ar (released on return).
//
//	dx   [B*T, C]  += ∂L/∂x
//	dout [B*T, C]
func (l *Layer) backward(a *layerActs, dx, dout []float32, st *State, ar *nn.Arena) {
	B, T := st.B, st.T
	BT, C, I := B*T, l.Query.Out, l.FFIn.Out
	mark := ar.Mark()
	defer ar.Release(mark)

	// y = FFLN(h1 + FFAdapter(dropout(FFOut(GELU(FFIn(h1)))))).
	dsum := ar.AllocZero(BT * C) // ∂L/∂sum2, then ∂L/∂sum1
	l.FFLN.Backward(dsum, dout, a.sum2, a.mean2, a.rstd2, BT)
	dh1 := ar.Alloc(BT * C)
	copy(dh1, dsum) // the residual branch
	dfo := l.adaptBackward(l.FFAdapter, dsum, a.foDrop, BT, ar)
	dfo = l.dropBackward(dfo, a.foMask, ar)
	dffAct := ar.AllocZero(BT * I)
	l.FFOut.Backward(dffAct, dfo, a.ffAct, BT)
	dffPre := ar.Alloc(BT * I)
	kernels.GELUBackward(dffPre, dffAct, a.ffPre)
	l.FFIn.Backward(dh1, dffPre, a.h1, BT)

	// h1 = AttnLN(x + AttnAdapter(dropout(AttnOut(Attention(x))))).
	clear(dsum)
	l.AttnLN.Backward(dsum, dh1, a.sum1, a.mean1, a.rstd1, BT)
	kernels.Add(dx[:BT*C], dx[:BT*C], dsum) // the residual branch
	dao := l.adaptBackward(l.AttnAdapter, dsum, a.aoDrop, BT, ar)
	dao = l.dropBackward(dao, a.aoMask, ar)
	dctx := ar.AllocZero(BT * C)
	l.AttnOut.Backward(dctx, dao, a.ctx, BT)
	dq, dk, dv := ar.AllocZero(BT*C), ar.AllocZero(BT*C), ar.AllocZero(BT*C)
	l.Attn.Backward(dq, dk, dv, dctx, a.probs, a.probsUsed, a.probsMask, a.q, a.k, a.v, B, T, ar)
	l.Query.Backward(dx, dq, a.x, BT)
	l.Key.Backward(dx, dk, a.x, BT)
	l.Value.Backward(dx, dv, a.x, BT)
}

// adaptBackward returns ∂L/∂x of an adapter given dy = ∂L/∂y and its input
// x; without an adapter it returns dy.
func (l *Layer) adaptBackward(ad Adapter, dy, x []float32, rows int, ar *nn.Arena) []float32 {
	if ad == nil {
		return dy
	}
	dx := ar.AllocZero(len(dy))
	ad.Backward(dx, dy, x, rows, ar)
	return dx
}

// dropBackward returns ∂L/∂x of the hidden dropout given dy; without
// dropout (mask nil) it returns dy.
func (l *Layer) dropBackward(dy, mask []float32, ar *nn.Arena) []float32 {
	if mask == nil {
		return dy
	}
	dx := ar.AllocZero(len(dy))
	l.HiddenDrop.Backward(dx, dy, mask)
	return dx
}
