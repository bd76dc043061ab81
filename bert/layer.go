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
	sum  []float32  // [B*T, C] ln's saved input
	drop nn.Dropout // after ln (the embeddings'); P = 0 for none
	rng  nn.RNG     // generator before that dropout
}

// compute writes the layer input into x [rows, C].
func (in *layerInput) compute(x []float32, rows int) {
	in.ln.Forward(x, nil, nil, in.sum, rows)
	if in.drop.P > 0 {
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
// tq is the number of query rows per sequence: T, or fewer when the layer
// computed only some rows (the [CLS] rows, or State.LastRows); R = B*tq
// rows follow the attention. pos and at place those rows (nil: the first
// tq of every sequence).
type layerActs struct {
	tq         int
	pos        []int32   // [R] position in its sequence of each query row, or nil
	at         []int32   // [R] row of the whole [B*T] layout of each query row, or nil
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

// forward computes out = layer(x). In training mode the activations backward
// needs are kept in st.Arena and recorded in a; everything else is scratch
// in st.Scratch, released on return.
//
//	out [B*T, C]  overwritten
//	x   [B*T, C]
func (l *Layer) forward(a *layerActs, out, x []float32, st *State) {
	l.forwardRows(a, out, x, x, st.T, nil, nil, st)
}

// forwardRows computes the layer's output for Tq query rows per sequence,
// xq, attending to all T rows of x: forward when Tq = T (xq = x), the
// [CLS] rows alone when Tq = 1, the rows at pos in general. Keys and
// values are computed for every row; everything after the attention only
// for the query rows. Dropout draws, with Tq < T, the masks a full forward
// would draw on those rows (nn.Dropout.ApplyRows, ApplyAt), so that
// training on some rows alone gives the full pass's gradients.
//
//	out [B*Tq, C]  overwritten
//	x   [B*T, C]
//	xq  [B*Tq, C]  (kept for backward when Query trains: it must stay valid)
//	pos [B*Tq]     each query row's position in its sequence; nil: the first Tq
//	at  [B*Tq]     each query row's row in x (b*T + pos); nil with pos
func (l *Layer) forwardRows(a *layerActs, out, x, xq []float32, Tq int, pos, at []int32, st *State) {
	B, T := st.B, st.T
	BT, C, I := B*T, l.Query.Out, l.FFIn.Out
	R := B * Tq // rows after the attention
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
	*a = layerActs{tq: Tq, pos: pos, at: at, dropProbs: dropProbs, dropHidden: dropHidden}

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
	l.Attn.ForwardQueries(ctx, q, k, v, st.Mask, pos, B, Tq, T, l.attnDrop(dropProbs), &st.RNG, sc)
	ao := keep(R*C, l.AttnAdapter != nil) // after dropout: the adapter's input
	l.AttnOut.Forward(ao, ctx, R)
	if dropHidden {
		a.rngAttn = st.RNG
		l.dropRows(ao, ao, a, T, &st.RNG)
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
		l.dropRows(fo, fo, a, T, &st.RNG)
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
	if Tq < T && l.Query.W.Trainable() {
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
func (l *Layer) dropRows(y, x []float32, a *layerActs, T int, rng *nn.RNG) {
	C := l.Query.Out
	if a.at == nil {
		l.HiddenDrop.ApplyRows(y, x, a.tq*C, T*C, rng)
		return
	}
	l.HiddenDrop.ApplyAt(y, x, C, a.at, C, *rng)
	rng.Skip(len(x) / a.tq * T) // B*T*C
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
//	dx   [B*T, C]   += ∂L/∂x
//	dout [B*tq, C]  (tq of the forward: T, or 1 for the [CLS] rows alone)
func (l *Layer) backward(a *layerActs, dx, dout []float32, in *layerInput, st *State) {
	B, T, Tq := st.B, st.T, a.tq
	BT, C, I := B*T, l.Query.Out, l.FFIn.Out
	R := B * Tq
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
	dfo = l.dropBackward(dfo, l.FFAdapter == nil, a.dropHidden, a.rngFF, a, T, sc)
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
	if Tq == T {
		kernels.Add(dx[:BT*C], dx[:BT*C], dsum1) // the residual branch
	} else {
		addRows(dx, dsum1, a, B, T, C)
	}
	dao := l.adaptBackward(l.AttnAdapter, dsum1, a.attnAdIn, R, sc)
	dao = l.dropBackward(dao, false, a.dropHidden, a.rngAttn, a, T, sc)
	l.AttnOut.Backward(dctx, dao, a.ctx, R)
	sc.Release(ffMark)

	dq, dk, dv := sc.AllocZero(R*C), sc.AllocZero(BT*C), sc.AllocZero(BT*C)
	l.Attn.BackwardQueries(dq, dk, dv, dctx, a.q, a.k, a.v, st.Mask, a.pos, B, Tq, T, l.attnDrop(a.dropProbs), a.rngProbs, sc)
	x := a.x
	if x == nil && l.inputNeeded() {
		x = sc.Alloc(BT * C)
		in.compute(x, BT)
	}
	if Tq == T {
		l.Query.Backward(dx, dq, x, BT)
	} else {
		dxq := sc.AllocZero(R * C)
		l.Query.Backward(dxq, dq, a.xq, R)
		addRows(dx, dxq, a, B, T, C)
	}
	l.Key.Backward(dx, dk, x, BT)
	l.Value.Backward(dx, dv, x, BT)
}

// addRows adds the query rows src [B*tq, C] of the layer's forward into
// their rows of dst [B*T, C]: the first tq of each sequence, or a.at.
func addRows(dst, src []float32, a *layerActs, B, T, C int) {
	if a.at != nil {
		for r, g := range a.at {
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
func (l *Layer) dropBackward(dy []float32, keep, applied bool, rng nn.RNG, a *layerActs, T int, sc *nn.Arena) []float32 {
	if !applied {
		return dy
	}
	dx := dy
	if keep {
		dx = sc.Alloc(len(dy))
	}
	l.dropRows(dx, dy, a, T, &rng)
	return dx
}
