package bert

import (
	"fmt"
	"slices"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// Mixed-task batches: one frozen base serves many tasks, each a View of it
// with its own adapters, layer norms and head, and requests of different
// tasks run in one pass. Sequences are packed one after another without
// padding; every product whose weights the tasks share runs over all their
// rows at once.
//
// Shapes: N tokens of all sequences, B sequences, G groups, C hidden size,
// I intermediate size, R query rows of a layer (N, or B in the last layer,
// which computes only the [CLS] rows), L a group's labels.

// MixedBatch is sequences of several tasks packed one after another
// without padding: sequence s is IDs[o:o+Lens[s]] with o the sum of the
// lengths before it.
type MixedBatch struct {
	IDs     []int32 // [N] token ids of every sequence, one after another
	TypeIDs []int32 // [N] segment ids; nil: all 0
	Lens    []int   // [B] each sequence's length, 1..MaxPositions
	Groups  []Group // runs of consecutive sequences that share a task model, in order, covering all B
}

// Group is a run of consecutive sequences of a MixedBatch that one task
// model computes.
type Group struct {
	// Model is a View of the base (or the base itself) with a
	// classification head, its adapters and trained parameters loaded.
	Model *Model
	Seqs  int // how many consecutive sequences use it, at least 1
}

// MixedState holds the activations of ForwardMixed in an arena sized by
// the largest batch seen, so that steady-state passes allocate nothing.
// The logits are valid until the next ForwardMixed with the same state. A
// MixedState is not safe for concurrent use; models may be shared by
// goroutines that each have their own.
type MixedState struct {
	// Arena holds the activations and the logits; ForwardMixed resets it.
	Arena nn.Arena

	B        int       // sequences of the last pass
	logits   []float32 // [Σ L] every sequence's logits, sequence s at logitOff[s]
	logitOff []int     // [B+1] where each sequence's logits start, then their total
	tokOff   []int     // [B+1] each sequence's first token row, then N
	clsOff   []int     // [B+1] 0, 1, ..., B: each sequence's row in the last layer
	grpSeq   []int     // [G+1] each group's first sequence, then B
	grpTok   []int     // [G+1] each group's first token row, then N
}

// Logits returns sequence s's logits (as many as its group's model has
// labels) from the last ForwardMixed, valid until the next.
func (st *MixedState) Logits(s int) []float32 {
	return st.logits[st.logitOff[s]:st.logitOff[s+1]:st.logitOff[s+1]]
}

// ForwardMixed runs the mixed-task batch b for inference and leaves each
// sequence's logits in st (MixedState.Logits). The receiver m is the base:
// every group's model must have its Config (architecture) and a head.
//
// Every dense product whose weight and bias the groups share
// (SharesWeights; normally every frozen product of the base, packed as the
// base's are) runs over the rows of all those groups at once (a run of
// consecutive groups), and everything a group has of its own (adapters,
// layer norms, a pooler or any weight its method trained, the head) on its
// own rows. Attention is within each sequence, its heads split between the
// threads. The last layer computes only the [CLS] rows, as
// State.CLSOnly does. No row is padding.
//
// Each sequence's logits are bit for bit those of Forward with its group's
// model on a batch of that sequence alone (NewBatch, B = 1) with
// State{CLSOnly: true}, wherever the kernels compute a row of a product the
// same whatever the other rows (every product of one row of more than 256
// multiply-adds, kernels' smallWork; the classifier is run one row at a
// time for that reason). ForwardMixed returns an error naming the
// sequence or group, before computing anything, if b does not fit.
func (m *Model) ForwardMixed(st *MixedState, b *MixedBatch) error {
	if err := m.checkMixed(b); err != nil {
		return err
	}
	C := m.Config.HiddenSize
	st.layout(b)
	B, G, N := len(b.Lens), len(b.Groups), len(b.IDs)
	ar := &st.Arena
	st.logits = nil // so that an arena that grows can free its old block
	ar.Reset()
	st.B = B
	st.logits = ar.Alloc(st.logitOff[B])

	x, y := ar.Alloc(N*C), ar.Alloc(N*C) // [N, C] each: layer input and output, in turns
	m.embedMixed(st, x, b)
	last := len(m.Layers) - 1
	for l := 0; l < last; l++ {
		m.layerMixed(st, b.Groups, l, y, x, x, st.grpTok, st.tokOff)
		x, y = y, x
	}
	// The last layer: the [CLS] rows only.
	xq, h := ar.Alloc(B*C), ar.Alloc(B*C) // [B, C] each
	for s := 0; s < B; s++ {
		o := st.tokOff[s] * C
		copy(xq[s*C:(s+1)*C], x[o:o+C])
	}
	m.layerMixed(st, b.Groups, last, h, x, xq, st.grpSeq, st.clsOff)

	// Pooler tanh(dense(cls)), then each sequence's head, one row at a
	// time as Forward does for a batch of one.
	pooled := ar.Alloc(B * C) // [B, C]
	m.linearMixed(b.Groups, linPooler, 0, pooled, h, st.grpSeq)
	kernels.Tanh(pooled, pooled)
	for g := 0; g < G; g++ {
		head := b.Groups[g].Model.Classifier
		for s := st.grpSeq[g]; s < st.grpSeq[g+1]; s++ {
			head.Forward(st.logits[st.logitOff[s]:st.logitOff[s+1]], pooled[s*C:(s+1)*C], 1)
		}
	}
	return nil
}

// layout fills st's offsets for b (checked).
func (st *MixedState) layout(b *MixedBatch) {
	B, G := len(b.Lens), len(b.Groups)
	st.tokOff = slices.Grow(st.tokOff[:0], B+1)[:B+1]
	st.clsOff = slices.Grow(st.clsOff[:0], B+1)[:B+1]
	st.logitOff = slices.Grow(st.logitOff[:0], B+1)[:B+1]
	st.grpSeq = slices.Grow(st.grpSeq[:0], G+1)[:G+1]
	st.grpTok = slices.Grow(st.grpTok[:0], G+1)[:G+1]
	st.tokOff[0], st.logitOff[0], st.grpSeq[0], st.grpTok[0] = 0, 0, 0, 0
	for s, n := range b.Lens {
		st.tokOff[s+1] = st.tokOff[s] + n
		st.clsOff[s] = s
	}
	st.clsOff[B] = B
	for g, gr := range b.Groups {
		s0, s1 := st.grpSeq[g], st.grpSeq[g]+gr.Seqs
		st.grpSeq[g+1], st.grpTok[g+1] = s1, st.tokOff[s1]
		L := gr.Model.NumLabels()
		for s := s0; s < s1; s++ {
			st.logitOff[s+1] = st.logitOff[s] + L
		}
	}
}

// checkMixed validates b against the base m.
func (m *Model) checkMixed(b *MixedBatch) error {
	cfg := &m.Config
	B := len(b.Lens)
	if B == 0 {
		return fmt.Errorf("bert: ForwardMixed: empty batch (no sequences)")
	}
	if b.TypeIDs != nil && len(b.TypeIDs) != len(b.IDs) {
		return fmt.Errorf("bert: ForwardMixed: %d type ids for %d token ids (nil for all 0)", len(b.TypeIDs), len(b.IDs))
	}
	n := 0
	for s, l := range b.Lens {
		if l < 1 || l > cfg.MaxPositions {
			return fmt.Errorf("bert: ForwardMixed: sequence %d has length %d, want 1..%d (the model's positions)", s, l, cfg.MaxPositions)
		}
		n += l
	}
	if n != len(b.IDs) {
		return fmt.Errorf("bert: ForwardMixed: the %d sequences' lengths sum to %d, but there are %d token ids", B, n, len(b.IDs))
	}
	seqs := 0
	for g, gr := range b.Groups {
		gm := gr.Model
		switch {
		case gr.Seqs < 1:
			return fmt.Errorf("bert: ForwardMixed: group %d has %d sequences, want at least 1", g, gr.Seqs)
		case gm == nil:
			return fmt.Errorf("bert: ForwardMixed: group %d (sequences %d..%d) has no model", g, seqs, seqs+gr.Seqs-1)
		case gm.Classifier == nil:
			return fmt.Errorf("bert: ForwardMixed: group %d (sequences %d..%d): the model has no classification head", g, seqs, seqs+gr.Seqs-1)
		case !sameArchitecture(&gm.Config, cfg) || len(gm.Layers) != len(m.Layers) || gm.Classifier.In != cfg.HiddenSize:
			return fmt.Errorf("bert: ForwardMixed: group %d (sequences %d..%d): the model's architecture differs from the base's (a view of another base?)", g, seqs, seqs+gr.Seqs-1)
		}
		seqs += gr.Seqs
	}
	if seqs != B {
		return fmt.Errorf("bert: ForwardMixed: the %d groups cover %d sequences, the batch has %d", len(b.Groups), seqs, B)
	}
	V, TV := int32(cfg.VocabSize), int32(cfg.TypeVocabSize)
	o := 0
	for s, l := range b.Lens {
		for t := o; t < o+l; t++ {
			if id := b.IDs[t]; id < 0 || id >= V {
				return fmt.Errorf("bert: ForwardMixed: sequence %d, token %d: id %d is outside the vocabulary [0, %d)", s, t-o, id, V)
			}
			if b.TypeIDs != nil {
				if id := b.TypeIDs[t]; id < 0 || id >= TV {
					return fmt.Errorf("bert: ForwardMixed: sequence %d, token %d: type id %d is outside [0, %d)", s, t-o, id, TV)
				}
			}
		}
		o += l
	}
	return nil
}

// sameArchitecture reports whether a and b describe the same network
// (labels, dropout and initialisation aside).
func sameArchitecture(a, b *Config) bool {
	return a.VocabSize == b.VocabSize && a.HiddenSize == b.HiddenSize && a.NumLayers == b.NumLayers &&
		a.NumHeads == b.NumHeads && a.IntermediateSize == b.IntermediateSize && a.MaxPositions == b.MaxPositions &&
		a.TypeVocabSize == b.TypeVocabSize && a.HiddenAct == b.HiddenAct && a.LayerNormEps == b.LayerNormEps &&
		a.PositionEmbeddingType == b.PositionEmbeddingType
}

// embedMixed computes the embedding layer's output into x [N, C], each
// group's tokens with its model's tables, as Embeddings.forward does in
// inference; the layer norm runs over runs of groups that share it.
func (m *Model) embedMixed(st *MixedState, x []float32, b *MixedBatch) {
	C, N := m.Config.HiddenSize, len(b.IDs)
	ar := &st.Arena
	mark := ar.Mark()
	defer ar.Release(mark)
	sum := ar.Alloc(N * C) // [N, C] word + position + type: the norm's input
	for g := range b.Groups {
		e := &b.Groups[g].Model.Embeddings
		pos, typ := e.Position.W.W, e.Type.W.W
		for s := st.grpSeq[g]; s < st.grpSeq[g+1]; s++ {
			o := st.tokOff[s]
			e.Word.Forward(sum[o*C:st.tokOff[s+1]*C], b.IDs[o:st.tokOff[s+1]])
			for t := 0; t < b.Lens[s]; t++ {
				tt := 0
				if b.TypeIDs != nil {
					tt = int(b.TypeIDs[o+t])
				}
				row := sum[(o+t)*C : (o+t+1)*C]
				p, ty := pos[t*C:(t+1)*C], typ[tt*C:(tt+1)*C]
				for c := range row {
					row[c] += p[c] + ty[c]
				}
			}
		}
	}
	m.normMixed(b.Groups, normEmb, 0, x, nil, sum, nil, st.grpTok)
}

// layerMixed computes layer l of every group, as Layer.forwardRows does in
// inference: keys and values for every token, the rest for the query rows
// (every token, or the [CLS] rows in the last layer). Group g's query rows
// are [qStart[g], qStart[g+1]) and sequence s's are [qOff[s], qOff[s+1]);
// token rows are st.grpTok and st.tokOff.
//
//	out [R, C]  overwritten
//	x   [N, C]
//	xq  [R, C]  the query rows of x (x itself when R = N)
func (m *Model) layerMixed(st *MixedState, groups []Group, l int, out, x, xq []float32, qStart, qOff []int) {
	G := len(groups)
	R, N := qStart[G], st.grpTok[G]
	C, I := m.Config.HiddenSize, m.Config.IntermediateSize
	ar := &st.Arena
	mark := ar.Mark()
	defer ar.Release(mark)

	// h1 outlives the attention's scratch, released before the feed-forward.
	h1 := ar.Alloc(R * C) // [R, C]
	attnMark := ar.Mark()

	// Self-attention within each sequence.
	q, k, v := ar.Alloc(R*C), ar.Alloc(N*C), ar.Alloc(N*C) // [R, C], [N, C], [N, C]
	m.linearMixed(groups, linQuery, l, q, xq, qStart)
	m.linearMixed(groups, linKey, l, k, x, st.grpTok)
	m.linearMixed(groups, linValue, l, v, x, st.grpTok)
	ctx := ar.Alloc(R * C) // [R, C]
	m.Layers[l].Attn.ForwardVarLen(ctx, q, k, v, qOff, st.tokOff, ar)
	ao := ar.Alloc(R * C) // [R, C]
	m.linearMixed(groups, linAttnOut, l, ao, ctx, qStart)
	branch := adaptMixed(groups, adAttn, l, ao, C, qStart, ar)

	// Residual add and norm.
	sum1 := ar.Alloc(R * C) // [R, C]
	m.normMixed(groups, normAttn, l, h1, sum1, xq, branch, qStart)
	ar.Release(attnMark)

	// Feed-forward.
	ffPre, ffAct := ar.Alloc(R*I), ar.Alloc(R*I) // [R, I] each
	m.linearGELUMixed(groups, l, ffAct, ffPre, h1, qStart)
	fo := ar.Alloc(R * C) // [R, C]
	m.linearMixed(groups, linFFOut, l, fo, ffAct, qStart)
	branch = adaptMixed(groups, adFF, l, fo, C, qStart, ar)
	sum2 := ar.Alloc(R * C) // [R, C]
	m.normMixed(groups, normFF, l, out, sum2, h1, branch, qStart)
}

// linearKind names one of a model's dense layers: in encoder layer l, or
// the pooler.
type linearKind int

const (
	linQuery linearKind = iota
	linKey
	linValue
	linAttnOut
	linFFIn
	linFFOut
	linPooler
)

// linear returns m's dense layer of kind k (in encoder layer l).
func (m *Model) linear(k linearKind, l int) *nn.Linear {
	if k == linPooler {
		return &m.Pooler
	}
	L := &m.Layers[l]
	switch k {
	case linQuery:
		return &L.Query
	case linKey:
		return &L.Key
	case linValue:
		return &L.Value
	case linAttnOut:
		return &L.AttnOut
	case linFFIn:
		return &L.FFIn
	}
	return &L.FFOut
}

// sameLinear reports whether a and b compute the same product with the
// same memory.
func sameLinear(a, b *nn.Linear) bool {
	return a.In == b.In && a.Out == b.Out && SharesWeights(a.W, b.W) && SharesWeights(a.B, b.B)
}

// linearRun returns the end of the run of groups from g0 whose dense layer
// of kind k shares its weights with g0's, and the layer to compute it
// with: the base m's when it shares them too (its weights may be packed).
func (m *Model) linearRun(groups []Group, k linearKind, l, g0 int) (int, *nn.Linear) {
	lin := groups[g0].Model.linear(k, l)
	g1 := g0 + 1
	for g1 < len(groups) && sameLinear(lin, groups[g1].Model.linear(k, l)) {
		g1++
	}
	if base := m.linear(k, l); sameLinear(base, lin) {
		lin = base
	}
	return g1, lin
}

// linearMixed computes y = x·Wᵀ + b with each group's dense layer of kind
// k, over the rows of each run of groups that share it at once; group g's
// rows are [start[g], start[g+1]).
//
//	y [R, Out]  overwritten
//	x [R, In]
func (m *Model) linearMixed(groups []Group, k linearKind, l int, y, x []float32, start []int) {
	for g0 := 0; g0 < len(groups); {
		g1, lin := m.linearRun(groups, k, l, g0)
		r0, r1 := start[g0], start[g1]
		lin.Forward(y[r0*lin.Out:r1*lin.Out], x[r0*lin.In:r1*lin.In], r1-r0)
		g0 = g1
	}
}

// linearGELUMixed is linearMixed for layer l's feed-forward expansion,
// y = GELU(pre), pre = x·Wᵀ + b (nn.Linear.ForwardGELU).
//
//	y, pre [R, I]  overwritten
//	x      [R, C]
func (m *Model) linearGELUMixed(groups []Group, l int, y, pre, x []float32, start []int) {
	for g0 := 0; g0 < len(groups); {
		g1, lin := m.linearRun(groups, linFFIn, l, g0)
		r0, r1 := start[g0], start[g1]
		lin.ForwardGELU(y[r0*lin.Out:r1*lin.Out], pre[r0*lin.Out:r1*lin.Out], x[r0*lin.In:r1*lin.In], r1-r0)
		g0 = g1
	}
}

// normKind names one of a model's layer norms: the embeddings', or one of
// encoder layer l.
type normKind int

const (
	normEmb normKind = iota
	normAttn
	normFF
)

// norm returns m's layer norm of kind k (in encoder layer l).
func (m *Model) norm(k normKind, l int) *nn.LayerNorm {
	switch k {
	case normEmb:
		return &m.Embeddings.LN
	case normAttn:
		return &m.Layers[l].AttnLN
	}
	return &m.Layers[l].FFLN
}

// normMixed computes y = LN(a + b) (sum = a + b), or y = LN(a) when b is
// nil, with each group's layer norm of kind k, over each run of groups
// that share it at once; group g's rows are [start[g], start[g+1]).
//
//	y    [R, C]  overwritten
//	sum  [R, C]  overwritten; nil when b is
//	a, b [R, C]
func (m *Model) normMixed(groups []Group, k normKind, l int, y, sum, a, b []float32, start []int) {
	C := m.Config.HiddenSize
	for g0 := 0; g0 < len(groups); {
		ln := groups[g0].Model.norm(k, l)
		g1 := g0 + 1
		for g1 < len(groups) {
			o := groups[g1].Model.norm(k, l)
			if !SharesWeights(ln.Gamma, o.Gamma) || !SharesWeights(ln.Beta, o.Beta) || ln.Eps != o.Eps {
				break
			}
			g1++
		}
		r0, r1 := start[g0]*C, start[g1]*C
		if b == nil {
			ln.Forward(y[r0:r1], nil, nil, a[r0:r1], (r1-r0)/C)
		} else {
			ln.ForwardAdd(y[r0:r1], sum[r0:r1], nil, nil, a[r0:r1], b[r0:r1], (r1-r0)/C)
		}
		g0 = g1
	}
}

// adapterKind names one of an encoder layer's adapters.
type adapterKind int

const (
	adAttn adapterKind = iota
	adFF
)

// adaptMixed applies each group's adapter of kind k in layer l to its
// rows of x (group g's are [start[g], start[g+1])), consecutive groups of
// the same model at once, and returns the result [R, C] from ar (rows of
// groups without the adapter are copies of x's), or x itself when no group
// has the adapter.
func adaptMixed(groups []Group, k adapterKind, l int, x []float32, C int, start []int, ar *nn.Arena) []float32 {
	adapter := func(gm *Model) Adapter {
		if k == adAttn {
			return gm.Layers[l].AttnAdapter
		}
		return gm.Layers[l].FFAdapter
	}
	var y []float32 // [R, C]
	for g0 := 0; g0 < len(groups); {
		gm := groups[g0].Model
		g1 := g0 + 1
		for g1 < len(groups) && groups[g1].Model == gm {
			g1++
		}
		if ad := adapter(gm); ad != nil {
			if y == nil {
				y = ar.Alloc(start[len(groups)] * C)
				copy(y[:start[g0]*C], x) // the groups before, without the adapter
			}
			r0, r1 := start[g0], start[g1]
			ad.Forward(y[r0*C:r1*C], x[r0*C:r1*C], r1-r0, ar, false)
		} else if y != nil {
			copy(y[start[g0]*C:start[g1]*C], x[start[g0]*C:])
		}
		g0 = g1
	}
	if y == nil {
		return x
	}
	return y
}
