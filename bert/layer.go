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

// layerInput says how backward recomputes a layer's input rather than
// keeping it: x = drop(ln(sum)), the previous layer's output norm (or the
// embeddings' norm and dropout) applied again to its saved input, which
// gives the forward's values bit for bit.
type layerInput struct {
	ln   *nn.LayerNorm
	sum  []float32  // [B*T, C] ln's saved input (the real rows alone when unpadded)
	drop nn.Dropout // after ln (the embeddings'); P = 0 for none
	rng  nn.RNG     // generator before that dropout
	at   []int32    // unpadded: the padded-layout row of each row (dropout); nil: padded
}

// compute writes the layer input into x [rows, C].
func (in *layerInput) compute(x []float32, rows int) {
	in.ln.Forward(x, nil, nil, in.sum, rows)
	if in.drop.P > 0 {
		if in.at != nil {
			C := len(x) / rows
			in.drop.ApplyAt(x, x, C, in.at, C, in.rng)
			return
		}
		rng := in.rng
		in.drop.Apply(x, x, &rng)
	}
}

// layerActs are the activations one layer's backward pass needs, kept by a
// training-mode forward in the state's arena. Only what backward reads is
// kept, and not what it can cheaply recompute: the attention probabilities
// (from q and k), the dropout masks (from copies of the generator), the
// inputs of the weight gradients of the query, key and value projections
// (the layer input, from the previous layer norm's saved input), of FFIn
// (AttnLN's output, from sum1) and of FFOut (GELU(ffPre)).
//
// The rows say which rows the layer computed; R rows follow the attention.
type layerActs struct {
	rows
	x          []float32 // [B*T, C] input, when kept anyway (State.KeepHidden) and inputNeeded
	xq         []float32 // [R, C] query rows of the input when tq < T and Query trains
	q          []float32 // [R, C]
	k, v       []float32 // [B*T, C]
	ctx        []float32 // [R, C] attention context; nil when AttnOut is frozen
	attnAdIn   []float32 // [R, C] AttnAdapter's input; nil without the adapter
	sum1       []float32 // [R, C] xq + attention branch: AttnLN's input
	mean1      []float32 // [R]
	rstd1      []float32 // [R]
	ffPre      []float32 // [R, I] FFIn output before GELU (its GELU, FFOut's input, is recomputed)
	ffAdIn     []float32 // [R, C] FFAdapter's input; nil without the adapter
	sum2       []float32 // [R, C] h1 + feed-forward branch: FFLN's input
	mean2      []float32 // [R]
	rstd2      []float32 // [R]
	dropProbs  bool      // attention dropout was applied
	dropHidden bool      // hidden dropout was applied
	rngProbs   nn.RNG    // generator before the attention dropout
	rngAttn    nn.RNG    // generator before the dropout on AttnOut's output
	rngFF      nn.RNG    // generator before the dropout on FFOut's output
}

// rows is the row layout of a layer's pass: which rows of its input x [.,
// C] are keys and values, which rows xq are queries (the rows computed
// after the attention), and where they lie in the padded batch [B*T],
// whose layout the dropout masks follow.
//
// In the padded layout (qOff nil) x holds every row of the batch, B*T,
// and xq tq rows per sequence: every row (tq = T), the [CLS] rows (tq =
// 1), or the rows at pos. In the unpadded layout (State.Unpadded) x holds
// the real rows of every sequence packed, sequence s's at [kOff[s],
// kOff[s+1]), and xq its queries at [qOff[s], qOff[s+1]): x itself (xrow
// nil), or the rows xrow of x.
type rows struct {
	tq         int     // padded: query rows per sequence
	pos        []int32 // [R] position in its sequence of each query row; nil: the first tq (padded only)
	at         []int32 // [R] row of the padded [B*T] layout of each query row; nil with pos
	qOff, kOff []int   // unpadded: [B+1] row offsets of each sequence's queries and keys; nil: padded
	xrow       []int32 // unpadded: the row of x of each query row; nil: xq is x
}

// xRows returns the row of x of each query row: xrow (unpadded), at
// (padded, at pos), or nil for the first tq of every padded sequence.
func (r *rows) xRows() []int32 {
	if r.qOff != nil {
		return r.xrow
	}
	return r.at
}

// all reports whether the query rows are the rows of x, in order.
func (r *rows) all(T int) bool {
	if r.qOff != nil {
		return r.xrow == nil
	}
	return r.tq == T
}

// forward computes out = layer(x) over every row of the padded batch. In
// training mode the activations backward needs are kept in st.Arena and
// recorded in a; everything else is scratch in st.Scratch, released on
// return.
//
//	out [B*T, C]  overwritten
//	x   [B*T, C]
func (l *Layer) forward(a *layerActs, out, x []float32, st *State) {
	l.forwardRows(a, out, x, x, rows{tq: st.T}, st)
}

// forwardRows computes the layer's output for the query rows xq of
// layout r, attending to the rows of x of their sequences: forward over
// every row, the [CLS] rows alone, the rows at r.pos, or the real rows of
// an unpadded batch. Keys and values are computed for every row of x;
// everything after the attention only for the query rows. Dropout draws
// the masks a full forward of the padded batch would draw on those rows
// (nn.Dropout.ApplyRows, ApplyAt), so that training on some rows alone
// gives the full pass's gradients.
//
//	out [R, C]   overwritten
//	x   [BT, C]  (BT = B*T, or the real rows when unpadded)
//	xq  [R, C]   (kept for backward when Query trains: it must stay valid)
func (l *Layer) forwardRows(a *layerActs, out, x, xq []float32, r rows, st *State) {
	B, T := st.B, st.T
	C, I := l.Query.Out, l.FFIn.Out
	BT, R := len(x)/C, len(xq)/C // key rows; rows after the attention
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
	*a = layerActs{rows: r, dropProbs: dropProbs, dropHidden: dropHidden}

	// h1 outlives the attention's scratch, released before the feed-forward.
	h1 := sc.Alloc(R * C)
	attnMark := sc.Mark()

	// Self-attention.
	q, k, v := keep(R*C, true), keep(BT*C, true), keep(BT*C, true)
	l.Query.Forward(q, xq, R)
	l.Key.Forward(k, x, BT)
	l.Value.Forward(v, x, BT)
	ctx := keep(R*C, l.AttnOut.W.Trainable())
	a.rngProbs = st.RNG
	if r.qOff != nil {
		l.Attn.ForwardRagged(ctx, q, k, v, r.qOff, r.kOff, r.pos, T, l.attnDrop(dropProbs), &st.RNG, sc)
	} else {
		l.Attn.ForwardQueries(ctx, q, k, v, st.Mask, r.pos, B, r.tq, T, l.attnDrop(dropProbs), &st.RNG, sc)
	}
	ao := keep(R*C, l.AttnAdapter != nil) // after dropout: the adapter's input
	l.AttnOut.Forward(ao, ctx, R)
	if dropHidden {
		a.rngAttn = st.RNG
		l.dropRows(ao, ao, a, B, T, &st.RNG)
	}
	branch := ao
	if l.AttnAdapter != nil {
		branch = sc.Alloc(R * C)
		l.AttnAdapter.Forward(branch, ao, R, adAr, train)
	}

	// Residual add and norm.
	sum1 := keep(R*C, true)
	mean1, rstd1 := l.stats(R, train, ar)
	l.AttnLN.ForwardAdd(h1, sum1, mean1, rstd1, xq, branch, R)
	sc.Release(attnMark)

	// Feed-forward.
	ffPre, ffAct := keep(R*I, true), sc.Alloc(R*I)
	l.FFIn.ForwardGELU(ffAct, ffPre, h1, R)
	fo := keep(R*C, l.FFAdapter != nil) // after dropout: the adapter's input
	l.FFOut.Forward(fo, ffAct, R)
	if dropHidden {
		a.rngFF = st.RNG
		l.dropRows(fo, fo, a, B, T, &st.RNG)
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
	a.q, a.k, a.v = q, k, v
	if st.KeepHidden && l.inputNeeded() {
		a.x = x
	}
	if !r.all(T) && l.Query.W.Trainable() {
		a.xq = xq
	}
	a.sum1, a.mean1, a.rstd1, a.sum2, a.mean2, a.rstd2 = sum1, mean1, rstd1, sum2, mean2, rstd2
	a.ffPre = ffPre
	if l.AttnOut.W.Trainable() {
		a.ctx = ctx
	}
	if l.AttnAdapter != nil {
		a.attnAdIn = ao
	}
	if l.FFAdapter != nil {
		a.ffAdIn = fo
	}
}

// dropRows applies the hidden dropout to the R query rows x of a layer
// (y = x ⊙ mask, y may be x): the mask of those rows over the whole [B*T,
// C] tensor, after which rng has moved past the whole tensor.
func (l *Layer) dropRows(y, x []float32, a *layerActs, B, T int, rng *nn.RNG) {
	C := l.Query.Out
	if a.at == nil {
		l.HiddenDrop.ApplyRows(y, x, a.tq*C, T*C, rng)
		return
	}
	l.HiddenDrop.ApplyAt(y, x, C, a.at, C, *rng)
	rng.Skip(B * T * C)
}

// attnDrop returns the attention-probability dropout when applied, else
// none.
func (l *Layer) attnDrop(applied bool) nn.Dropout {
	if !applied {
		return nn.Dropout{}
	}
	return l.AttnDrop
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
// scratch from st.Scratch (released on return). dout is read, not changed.
// in recomputes the layer's input when the query, key or value weights
// train and the forward did not keep it.
//
//	dx   [BT, C]  += ∂L/∂x (the rows of x of the forward)
//	dout [R, C]   (the query rows of the forward)
func (l *Layer) backward(a *layerActs, dx, dout []float32, in *layerInput, st *State) {
	B, T := st.B, st.T
	C, I := l.Query.Out, l.FFIn.Out
	BT, R := len(dx)/C, len(dout)/C
	sc := &st.Scratch
	mark := sc.Mark()
	defer sc.Release(mark)
	dctx := sc.AllocZero(R * C) // first, to outlive the scratch of what comes before it
	ffMark := sc.Mark()

	// y = FFLN(h1 + FFAdapter(dropout(FFOut(GELU(FFIn(h1)))))).
	dsum := sc.AllocZero(R * C) // ∂L/∂sum2
	l.FFLN.Backward(dsum, dout, a.sum2, a.mean2, a.rstd2, R)
	dh1 := dsum // the residual branch; FFIn's input gradient is added to it once dfo is used
	dfoMark := sc.Mark()
	dfo := l.adaptBackward(l.FFAdapter, dsum, a.ffAdIn, R, sc) // dsum itself without the adapter
	dfo = l.dropBackward(dfo, l.FFAdapter == nil, a.dropHidden, a.rngFF, a, B, T, sc)
	actMark := sc.Mark()
	var ffAct []float32 // FFOut's input, recomputed for its weight gradient
	if l.FFOut.W.Trainable() {
		ffAct = sc.Alloc(R * I)
		kernels.GELU(ffAct, a.ffPre)
	}
	l.FFOut.BackwardParams(dfo, ffAct, R)
	sc.Release(actMark)
	dffAct := sc.AllocZero(R * I)
	l.FFOut.BackwardInput(dffAct, dfo, R)
	kernels.GELUBackward(dffAct, dffAct, a.ffPre) // now ∂L/∂ffPre
	var h1 []float32
	if l.FFIn.W.Trainable() { // FFIn's input, recomputed for its weight gradient
		h1 = sc.Alloc(R * C)
		l.AttnLN.Forward(h1, nil, nil, a.sum1, R)
	}
	l.FFIn.Backward(dh1, dffAct, h1, R)
	sc.Release(dfoMark)

	// h1 = AttnLN(xq + AttnAdapter(dropout(AttnOut(Attention(xq, x))))).
	dsum1 := sc.AllocZero(R * C)
	l.AttnLN.Backward(dsum1, dh1, a.sum1, a.mean1, a.rstd1, R)
	if a.all(T) {
		kernels.Add(dx[:BT*C], dx[:BT*C], dsum1) // the residual branch
	} else {
		addRows(dx, dsum1, a, B, T, C)
	}
	dao := l.adaptBackward(l.AttnAdapter, dsum1, a.attnAdIn, R, sc)
	dao = l.dropBackward(dao, false, a.dropHidden, a.rngAttn, a, B, T, sc)
	l.AttnOut.Backward(dctx, dao, a.ctx, R)
	sc.Release(ffMark)

	dq, dk, dv := sc.AllocZero(R*C), sc.AllocZero(BT*C), sc.AllocZero(BT*C)
	if a.qOff != nil {
		l.Attn.BackwardRagged(dq, dk, dv, dctx, a.q, a.k, a.v, a.qOff, a.kOff, a.pos, T, l.attnDrop(a.dropProbs), a.rngProbs, sc)
	} else {
		l.Attn.BackwardQueries(dq, dk, dv, dctx, a.q, a.k, a.v, st.Mask, a.pos, B, a.tq, T, l.attnDrop(a.dropProbs), a.rngProbs, sc)
	}
	x := a.x
	if x == nil && l.inputNeeded() {
		x = sc.Alloc(BT * C)
		in.compute(x, BT)
	}
	if a.all(T) {
		l.Query.Backward(dx, dq, x, BT)
	} else {
		dxq := sc.AllocZero(R * C)
		l.Query.Backward(dxq, dq, a.xq, R)
		addRows(dx, dxq, a, B, T, C)
	}
	l.Key.Backward(dx, dk, x, BT)
	l.Value.Backward(dx, dv, x, BT)
}

// addRows adds the query rows src [R, C] of the layer's forward into their
// rows of dst, the rows of x: the first tq of each sequence, a.at, or
// a.xrow (unpadded).
func addRows(dst, src []float32, a *layerActs, B, T, C int) {
	if at := a.xRows(); at != nil {
		for r, g := range at {
			d := dst[int(g)*C : int(g+1)*C]
			kernels.Add(d, d, src[r*C:(r+1)*C])
		}
		return
	}
	n := a.tq * C
	for b := 0; b < B; b++ {
		d := dst[b*T*C : b*T*C+n]
		kernels.Add(d, d, src[b*n:(b+1)*n])
	}
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
// its mask from the generator state rng (with the row layout of forward:
// the query rows of a); without dropout it returns dy. It works in place
// unless keep says dy must not change.
func (l *Layer) dropBackward(dy []float32, keep, applied bool, rng nn.RNG, a *layerActs, B, T int, sc *nn.Arena) []float32 {
	if !applied {
		return dy
	}
	dx := dy
	if keep {
		dx = sc.Alloc(len(dy))
	}
	l.dropRows(dx, dy, a, B, T, &rng)
	return dx
}
