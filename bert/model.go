package bert

import (
	"fmt"
	"strings"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
)

// Shapes below use the legend of package nn: B batch, T tokens, C hidden size,
// NH heads, HD head size, I intermediate size, V vocabulary, L labels.

// MaskValue is the additive attention-mask value of a padding key, as in the
// extended attention mask of Hugging Face BERT (before transformers v4.31;
// newer versions use the dtype's minimum). Either way a padded key gets
// probability exactly 0 in float32.
const MaskValue = -10000

// TensorSource supplies a model's tensors by canonical Hugging Face BertModel
// name, without the "bert." prefix (embeddings.word_embeddings.weight,
// encoder.layer.3.attention.self.query.weight, pooler.dense.weight,
// classifier.weight, ...). Tensor returns an error when the tensor is
// missing or its shape is not shape. The returned slice may be read-only
// memory (a mapped checkpoint): the model never writes to it.
type TensorSource interface {
	Tensor(name string, shape ...int) ([]float32, error)
}

// Adapter is a module inserted into an encoder layer on a sublayer's output,
// right after the attention output dense or the feed-forward output dense
// and before that sublayer's residual add and layer norm (Houlsby
// placement). It maps rows of width C to rows of width C.
//
// Forward may take buffers from ar for the activations its Backward needs and
// keep them until ar is reset; train says whether a Backward will follow.
// Backward accumulates: dx += ∂L/∂x, and the adapter's own parameter
// gradients, given dy = ∂L/∂y and the Forward input x.
type Adapter interface {
	Forward(y, x []float32, rows int, ar *nn.Arena, train bool) // y, x [rows, C]
	Backward(dx, dy, x []float32, rows int, ar *nn.Arena)       // dx, dy, x [rows, C]
}

// Model is a BERT encoder with its pooler and an optional
// sequence-classification head. Its parameters are nn.Params named as in
// Hugging Face checkpoints; the base weights of a model built by New are the
// source's slices (for a mapped checkpoint, read-only memory), never copies.
//
// A Model may be shared by goroutines for inference as long as each uses its
// own State and nobody changes the parameters meanwhile.
type Model struct {
	Config     Config
	Embeddings Embeddings
	Layers     []Layer
	Pooler     nn.Linear  // [C, C], followed by tanh, on the [CLS] row
	Classifier *nn.Linear // [L, C]; nil when the model has no head
	HeadDrop   nn.Dropout // before the classifier

	readOnly   bool // base weights may be read-only memory
	headOnHeap bool // the classifier was made by InitClassifier

	packFile  *safetensors.File // the mapping of PackWeights' file, if any
	quantFile *safetensors.File // the mapping of QuantizeWeights' file, if any
}

// Embeddings is BERT's input layer: word, position and token-type
// embeddings summed, then a layer norm and dropout.
type Embeddings struct {
	Word     nn.Embedding // [V, C]
	Position nn.Embedding // [MaxPositions, C]
	Type     nn.Embedding // [TypeVocabSize, C]
	LN       nn.LayerNorm
	Drop     nn.Dropout
}

// New builds the base model (embeddings, encoder, pooler; no head) over the
// tensors of src, which must match cfg. Every parameter is frozen and points
// at src's memory.
func New(cfg Config, src TensorSource) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bert.New: %w", err)
	}
	get := func(name string, shape ...int) (*nn.Param, error) {
		w, err := src.Tensor(name, shape...)
		if err != nil {
			return nil, fmt.Errorf("bert.New: %w", err)
		}
		if want := prod(shape); len(w) != want {
			return nil, fmt.Errorf("bert.New: tensor %q has %d elements, want %d for shape %v", name, len(w), want, shape)
		}
		return &nn.Param{Name: name, Shape: append([]int(nil), shape...), W: w, Frozen: true, NoDecay: noDecay(name)}, nil
	}
	m, err := build(cfg, get)
	if err != nil {
		return nil, err
	}
	m.readOnly = true
	return m, nil
}

// NewRandom builds a model with freshly initialised heap weights, as Hugging
// Face initialises BERT: weights normal(0, cfg.InitializerRange) (0.02 when
// unset), biases 0, layer norms 1 and 0, the [PAD] (id 0) word embedding 0.
// numLabels > 0 adds a classification head. Parameters start frozen; make
// the ones to train trainable (SetTrainable).
func NewRandom(cfg Config, numLabels int, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bert.NewRandom: %w", err)
	}
	std := float64(cfg.InitializerRange)
	if std == 0 {
		std = 0.02
	}
	rng := nn.NewRNG(seed)
	get := func(name string, shape ...int) (*nn.Param, error) {
		p := &nn.Param{Name: name, Shape: append([]int(nil), shape...), W: make([]float32, prod(shape)), Frozen: true, NoDecay: noDecay(name)}
		initParam(p, rng, std)
		return p, nil
	}
	m, err := build(cfg, get)
	if err != nil {
		return nil, err
	}
	clear(m.Embeddings.Word.W.W[:cfg.HiddenSize]) // padding_idx 0
	if numLabels > 0 {
		m.InitClassifier(numLabels, seed^0x5eed)
	}
	return m, nil
}

// initParam sets p as Hugging Face's BertPreTrainedModel._init_weights does.
func initParam(p *nn.Param, rng *nn.RNG, std float64) {
	switch {
	case isLayerNorm(p.Name) && strings.HasSuffix(p.Name, ".weight"):
		for i := range p.W {
			p.W[i] = 1
		}
	case strings.HasSuffix(p.Name, ".bias"):
		clear(p.W)
	default:
		rng.FillNormal(p.W, 0, std)
	}
}

// build assembles a model from a parameter getter.
func build(cfg Config, get func(name string, shape ...int) (*nn.Param, error)) (*Model, error) {
	C, I, eps := cfg.HiddenSize, cfg.IntermediateSize, cfg.LayerNormEps
	var firstErr error
	p := func(name string, shape ...int) *nn.Param {
		if firstErr != nil {
			return nil
		}
		q, err := get(name, shape...)
		if err != nil {
			firstErr = err
		}
		return q
	}
	must := func(err error) {
		if firstErr == nil && err != nil {
			firstErr = err
		}
	}
	lin := func(prefix string, in, out int) nn.Linear {
		w, b := p(prefix+".weight", out, in), p(prefix+".bias", out)
		if firstErr != nil {
			return nn.Linear{}
		}
		l, err := nn.NewLinear(w, b, in, out)
		must(err)
		return l
	}
	ln := func(prefix string) nn.LayerNorm {
		g, b := p(prefix+".weight", C), p(prefix+".bias", C)
		if firstErr != nil {
			return nn.LayerNorm{}
		}
		l, err := nn.NewLayerNorm(g, b, C, eps)
		must(err)
		return l
	}
	emb := func(name string, v int) nn.Embedding {
		w := p(name, v, C)
		if firstErr != nil {
			return nn.Embedding{}
		}
		e, err := nn.NewEmbedding(w, v, C)
		must(err)
		return e
	}
	m := &Model{Config: cfg, HeadDrop: nn.Dropout{P: cfg.HiddenDropout}}
	m.Embeddings = Embeddings{
		Word:     emb("embeddings.word_embeddings.weight", cfg.VocabSize),
		Position: emb("embeddings.position_embeddings.weight", cfg.MaxPositions),
		Type:     emb("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize),
		LN:       ln("embeddings.LayerNorm"),
		Drop:     nn.Dropout{P: cfg.HiddenDropout},
	}
	m.Layers = make([]Layer, cfg.NumLayers)
	for l := range m.Layers {
		pre := fmt.Sprintf("encoder.layer.%d.", l)
		m.Layers[l] = Layer{
			Query:      lin(pre+"attention.self.query", C, C),
			Key:        lin(pre+"attention.self.key", C, C),
			Value:      lin(pre+"attention.self.value", C, C),
			Attn:       nn.Attention{NH: cfg.NumHeads, HD: cfg.HeadDim()},
			AttnOut:    lin(pre+"attention.output.dense", C, C),
			AttnLN:     ln(pre + "attention.output.LayerNorm"),
			FFIn:       lin(pre+"intermediate.dense", C, I),
			FFOut:      lin(pre+"output.dense", I, C),
			FFLN:       ln(pre + "output.LayerNorm"),
			AttnDrop:   nn.Dropout{P: cfg.AttentionDropout},
			HiddenDrop: nn.Dropout{P: cfg.HiddenDropout},
		}
	}
	m.Pooler = lin("pooler.dense", C, C)
	if firstErr != nil {
		return nil, firstErr
	}
	return m, nil
}

// LoadClassifier reads a sequence-classification head of numLabels labels
// (classifier.weight [L, C], classifier.bias [L]) from src, frozen.
func (m *Model) LoadClassifier(src TensorSource, numLabels int) error {
	C := m.Config.HiddenSize
	if numLabels <= 0 {
		return fmt.Errorf("bert: classifier needs at least one label, got %d", numLabels)
	}
	w, err := src.Tensor("classifier.weight", numLabels, C)
	if err != nil {
		return fmt.Errorf("bert: loading the classifier: %w", err)
	}
	b, err := src.Tensor("classifier.bias", numLabels)
	if err != nil {
		return fmt.Errorf("bert: loading the classifier: %w", err)
	}
	pw := &nn.Param{Name: "classifier.weight", Shape: []int{numLabels, C}, W: w, Frozen: true}
	pb := &nn.Param{Name: "classifier.bias", Shape: []int{numLabels}, W: b, Frozen: true, NoDecay: true}
	l, err := nn.NewLinear(pw, pb, C, numLabels)
	if err != nil {
		return fmt.Errorf("bert: loading the classifier: %w", err)
	}
	m.Classifier = &l
	m.headOnHeap = false
	return nil
}

// InitClassifier gives the model a new trainable classification head of
// numLabels labels on the heap: weights normal(0, InitializerRange), bias 0.
func (m *Model) InitClassifier(numLabels int, seed uint64) {
	C := m.Config.HiddenSize
	std := float64(m.Config.InitializerRange)
	if std == 0 {
		std = 0.02
	}
	pw := &nn.Param{Name: "classifier.weight", Shape: []int{numLabels, C}, W: make([]float32, numLabels*C), Frozen: true}
	pb := &nn.Param{Name: "classifier.bias", Shape: []int{numLabels}, W: make([]float32, numLabels), Frozen: true, NoDecay: true}
	nn.NewRNG(seed).FillNormal(pw.W, 0, std)
	pw.SetTrainable(true, false)
	pb.SetTrainable(true, false)
	m.Classifier = &nn.Linear{In: C, Out: numLabels, W: pw, B: pb}
	m.headOnHeap = true
}

// NumLabels returns the classifier's number of labels, 0 without a head.
func (m *Model) NumLabels() int {
	if m.Classifier == nil {
		return 0
	}
	return m.Classifier.Out
}

// Params returns every parameter in checkpoint order: embeddings, layers,
// pooler, then the classifier if present. (Adapters own their parameters.)
func (m *Model) Params() []*nn.Param {
	e := &m.Embeddings
	ps := []*nn.Param{e.Word.W, e.Position.W, e.Type.W, e.LN.Gamma, e.LN.Beta}
	for i := range m.Layers {
		ps = append(ps, m.Layers[i].Params()...)
	}
	ps = append(ps, m.Pooler.Params()...)
	if m.Classifier != nil {
		ps = append(ps, m.Classifier.Params()...)
	}
	return ps
}

// Tensors returns the model's parameters, in Params order, as float32
// tensors over their values (not copies), for WriteCheckpoint.
func (m *Model) Tensors() []safetensors.Tensor {
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.F32Tensor(p.Name, p.Shape, p.W))
	}
	return ts
}

// SetTrainable makes p (one of m's parameters) trainable or frozen. A base
// weight that may live in read-only memory is copied to the heap first.
func (m *Model) SetTrainable(p *nn.Param, on bool) {
	onHeap := m.headOnHeap && m.Classifier != nil && (p == m.Classifier.W || p == m.Classifier.B)
	p.SetTrainable(on, m.readOnly && !onHeap)
}

// ReadOnlyWeights reports whether the base weights may be read-only memory
// (a model built by New) rather than the heap (NewRandom).
func (m *Model) ReadOnlyWeights() bool { return m.readOnly }

// State holds the activations of forward passes of one model, in two
// arenas sized by the largest (B, T) seen, so that steady-state passes (and
// training steps) allocate nothing. The output slices are valid until the
// next Forward with the same State.
type State struct {
	// Train keeps the activations the backward pass needs and turns dropout
	// on. What is kept depends on which parameters are trainable at Forward
	// time (a frozen weight needs no gradient, so neither does its input), so
	// they must not change between Forward and Backward.
	Train bool
	// KeepHidden keeps every layer's output in Hidden. Otherwise Hidden holds
	// only the last layer's output: in training, backward recomputes a
	// layer's input where it needs it (for the gradients of trainable query,
	// key and value weights) from the previous layer norm's saved input.
	KeepHidden bool
	// CLSOnly has the last layer compute only the [CLS] rows, all that the
	// pooler and the classifier read: Pooled and Logits are the same (up to
	// rounding), Hidden[L] holds one row per sequence [B, C], and the last
	// layer costs little more than its key and value projections. In
	// training Backward then goes through those rows alone, with the same
	// gradients (up to rounding; with dropout too, as the masks on those
	// rows are the ones a full pass draws), and BackwardHidden, which needs
	// every row, returns an error. Ignored with KeepHidden.
	CLSOnly bool
	// LastRows, when set, has the last layer compute only these rows of
	// every sequence: LastRows[b*Tq:(b+1)*Tq] are positions in sequence b
	// (Tq = len(LastRows)/B, the same for every sequence; a position may
	// repeat), the first of each being 0, its [CLS] row, which the pooler
	// reads. Hidden[L] then holds those rows in that order [B*Tq, C], and
	// everything else is as with every row (up to rounding; with dropout
	// too): a masked-language-model loss that reads only the masked rows
	// costs the last layer little more than its key and value projections.
	// BackwardHidden and BackwardHiddenLogits take the gradient of those
	// rows. Ignored with KeepHidden; CLSOnly wins over it.
	LastRows []int32
	// Unpadded has every layer compute only the real rows of each sequence
	// (its first Batch.Lens[b] positions), not its padding: the same
	// results up to rounding (a padding row is never attended to; dropout
	// draws the padded batch's masks), at the cost of the real tokens
	// alone. Hidden[l] then hold the real rows packed, sequence after
	// sequence [Σ Lens, C], unless CLSOnly or LastRows choose the last
	// layer's rows (positions of LastRows must then be real ones). The
	// batch's mask must be 1 exactly on those first Lens[b] positions.
	Unpadded bool
	// RNG draws the dropout masks in Train mode. Masks are not stored:
	// Backward regenerates them from copies of the generator.
	RNG nn.RNG

	// Arena holds the outputs and, in training, the saved activations; it
	// is reset by Forward.
	Arena nn.Arena
	// Scratch holds what a layer needs only while it runs (everything but
	// the outputs, in inference), and Backward's gradients of activations.
	Scratch nn.Arena

	B, T   int
	Mask   []float32   // [B, T] additive key mask (0 or MaskValue)
	Hidden [][]float32 // [L+1] of [B*T, C]: embeddings output, then each layer's; only Hidden[L] unless kept
	Pooled []float32   // [B, C]
	Logits []float32   // [B, L]; nil without a head

	emb      embActs
	layers   []layerActs
	cls      []float32 // [B, C] [CLS] rows
	pooled   []float32 // [B, C] head input after dropout
	headDrop bool      // the head's dropout was applied
	headRNG  nn.RNG    // generator before the head's dropout
	clsOnly  bool      // the last layer computed only the [CLS] rows
	lastTq   int       // with lastSub, query rows per sequence of the last layer: 1 (clsOnly) or of LastRows
	lastSub  bool      // the last layer computed only some rows of every sequence, its [CLS] row first
	unpadded bool      // the layers computed the real rows alone
	nRows    int       // rows of every layer's input: B*T, or the real rows (unpadded)
	lay      rows      // the row layout of the layers below the last (of every layer without lastSub)
	lastLay  rows      // the last layer's row layout with lastSub
	kOff     []int     // unpadded: [B+1] offsets of each sequence's real rows
	rowPos   []int32   // unpadded: [nRows] position in its sequence of each real row
	rowAt    []int32   // unpadded: [nRows] its row in the padded layout
	lastBuf  [3][]int32
	lastQOff []int
	ids      []int32 // unpadded: [nRows] the real rows' token ids
	types    []int32 // unpadded: [nRows] their type ids, when the batch has them
}

// dropBuffers forgets every reference st holds into its arenas.
func (st *State) dropBuffers() {
	clear(st.layers)
	clear(st.Hidden)
	st.emb = embActs{}
	st.Mask, st.Pooled, st.Logits, st.cls, st.pooled = nil, nil, nil, nil, nil
}

// embActs are the embedding layer's activations kept for backward.
type embActs struct {
	ids, types []int32   // [N] the rows' token and type ids (types may be nil)
	pos        []int32   // [N] the rows' positions (unpadded); nil: row i is at i%T
	sum        []float32 // [N, C] word + position + type: LN's input
	mean, rstd []float32 // [N]
	drop       bool      // dropout was applied
	rng        nn.RNG    // generator before the dropout
}

// Forward runs the model on a batch: hidden states, pooled output and, with
// a head, logits, all in st. It returns an error, before computing anything,
// if the batch does not fit the model (ids out of range, too long, ...).
// With st.Train, st keeps references to b's ids for Backward: b must not
// change in between.
func (m *Model) Forward(st *State, b *Batch) error {
	if err := m.check(b); err != nil {
		return err
	}
	if st.Unpadded {
		if err := checkLens(b); err != nil {
			return err
		}
	}
	if st.LastRows != nil && !st.CLSOnly && !st.KeepHidden {
		if err := checkLastRows(st.LastRows, b, st.Unpadded); err != nil {
			return err
		}
	}
	cfg := &m.Config
	B, T, C := b.B, b.T, cfg.HiddenSize
	BT := B * T
	ar := &st.Arena
	st.dropBuffers() // so that an arena that grows can free its old block
	ar.Reset()
	st.Scratch.Reset()
	st.B, st.T = B, T
	if len(st.layers) != len(m.Layers) {
		st.layers = make([]layerActs, len(m.Layers))
		st.Hidden = make([][]float32, len(m.Layers)+1)
	}
	clear(st.Hidden)

	// Additive key mask.
	st.Mask = ar.Alloc(BT)
	for i, v := range b.Mask[:BT] {
		st.Mask[i] = (1 - v) * MaskValue
	}

	st.setLayout(b)
	N := st.nRows

	// Outputs that nothing reads later (not kept, and not read by backward)
	// take turns in two buffers; the last layer's output is read only by
	// the pooler, so it takes its turn too.
	var pingPong [2][]float32
	turn := func(i int) []float32 {
		if pingPong[i] == nil {
			pingPong[i] = ar.Alloc(N * C)
		}
		return pingPong[i]
	}
	x := turn(1) // layer 0 writes turn 0
	if st.KeepHidden {
		x = ar.Alloc(N * C)
	}
	m.Embeddings.forward(&st.emb, x, b, st)
	st.Hidden[0] = x
	last := len(m.Layers) - 1
	for l := range m.Layers {
		if st.lastSub && l == last {
			lay := st.lastLay
			R := B * st.lastTq
			xq, out := ar.Alloc(R*C), ar.Alloc(R*C)
			for r := 0; r < R; r++ {
				src := st.xRowOfLast(r)
				copy(xq[r*C:(r+1)*C], x[src*C:(src+1)*C])
			}
			m.Layers[l].forwardRows(&st.layers[l], out, x, xq, lay, st)
			st.Hidden[l+1], x = out, out
			break
		}
		out := turn(l % 2) // never x: that is the other turn, or kept
		if st.KeepHidden {
			out = ar.Alloc(N * C)
		}
		m.Layers[l].forwardRows(&st.layers[l], out, x, x, st.lay, st)
		if st.KeepHidden || l == last {
			st.Hidden[l+1] = out
		}
		x = out
	}
	if !st.KeepHidden {
		st.Hidden[0] = nil
	}

	// Pooler: tanh(dense(hidden[CLS])).
	st.cls = ar.Alloc(B * C)
	for i := 0; i < B; i++ {
		r := st.clsRow(i)
		copy(st.cls[i*C:(i+1)*C], x[r*C:(r+1)*C])
	}
	st.Pooled = ar.Alloc(B * C)
	m.Pooler.Forward(st.Pooled, st.cls, B)
	kernels.Tanh(st.Pooled, st.Pooled)

	st.Logits, st.headDrop = nil, false
	if m.Classifier != nil {
		st.pooled = st.Pooled
		if m.HeadDrop.Active(st.Train) {
			st.headDrop, st.headRNG = true, st.RNG
			st.pooled = ar.Alloc(B * C)
			m.HeadDrop.Apply(st.pooled, st.Pooled, &st.RNG)
		}
		st.Logits = ar.Alloc(B * m.Classifier.Out)
		m.Classifier.Forward(st.Logits, st.pooled, B)
	}
	return nil
}

// setLayout works out the row layouts of a Forward of b: every row or the
// real ones, and the last layer's rows (CLSOnly, LastRows).
func (st *State) setLayout(b *Batch) {
	B, T := b.B, b.T
	st.unpadded = st.Unpadded
	st.nRows, st.lay = B*T, rows{tq: T}
	if st.unpadded {
		st.kOff = append(st.kOff[:0], 0)
		st.rowPos, st.rowAt = st.rowPos[:0], st.rowAt[:0]
		for s, n := range b.Lens[:B] {
			for t := range n {
				st.rowPos, st.rowAt = append(st.rowPos, int32(t)), append(st.rowAt, int32(s*T+t))
			}
			st.kOff = append(st.kOff, st.kOff[s]+n)
		}
		st.nRows = st.kOff[B]
		st.lay = rows{pos: st.rowPos, at: st.rowAt, qOff: st.kOff, kOff: st.kOff}
	}

	st.clsOnly = st.CLSOnly && !st.KeepHidden
	var pos []int32 // the last layer's query positions
	switch {
	case st.clsOnly:
		st.lastTq = 1
		if st.unpadded {
			pos = st.lastBuf[0][:0]
			for range B {
				pos = append(pos, 0)
			}
			st.lastBuf[0] = pos
		}
	case st.LastRows != nil && !st.KeepHidden:
		st.lastTq, pos = len(st.LastRows)/B, st.LastRows
	default:
		st.lastSub = false
		return
	}
	st.lastSub = true
	Tq := st.lastTq
	if pos == nil { // the padded [CLS] rows: the first of every sequence
		st.lastLay = rows{tq: 1}
		return
	}
	at := st.lastBuf[1][:0]
	for i, p := range pos {
		at = append(at, int32(i/Tq*T)+p)
	}
	st.lastBuf[1] = at
	if !st.unpadded {
		st.lastLay = rows{tq: Tq, pos: pos, at: at}
		return
	}
	xrow, qOff := st.lastBuf[2][:0], st.lastQOff[:0]
	for i, p := range pos {
		xrow = append(xrow, int32(st.kOff[i/Tq])+p)
	}
	for s := range B + 1 {
		qOff = append(qOff, s*Tq)
	}
	st.lastBuf[2], st.lastQOff = xrow, qOff
	st.lastLay = rows{pos: pos, at: at, qOff: qOff, kOff: st.kOff, xrow: xrow}
}

// xRowOfLast returns the row of the last layer's input of its query row r
// (with lastSub).
func (st *State) xRowOfLast(r int) int {
	if rows := st.lastLay.xRows(); rows != nil {
		return int(rows[r])
	}
	return r * st.T // the padded [CLS] rows
}

// clsRow returns the row of sequence s's [CLS] token in Hidden[L].
func (st *State) clsRow(s int) int {
	switch {
	case st.lastSub:
		return s * st.lastTq
	case st.unpadded:
		return st.kOff[s]
	}
	return s * st.T
}

// Backward accumulates the gradients of the trainable parameters (and of the
// adapters, through their Backward) given dlogits = ∂L/∂logits [B, L], after
// a Forward of st with st.Train set. It walks the model in exact reverse
// order. Gradients accumulate into Param.G: zero them first (Param.ZeroGrad)
// for a fresh step. Scratch comes from st.Scratch: a steady-state training
// step allocates nothing.
func (m *Model) Backward(st *State, dlogits []float32) error {
	if !st.Train || st.B == 0 {
		return fmt.Errorf("bert: Backward needs a Forward in training mode first (State.Train)")
	}
	if m.Classifier == nil {
		return fmt.Errorf("bert: Backward from logits needs a classification head")
	}
	B, C := st.B, m.Config.HiddenSize
	if len(dlogits) < B*m.Classifier.Out {
		return fmt.Errorf("bert: Backward: %d logit gradients, want %d", len(dlogits), B*m.Classifier.Out)
	}
	sc := &st.Scratch
	sc.Reset()
	dcls := m.headBackward(st, dlogits)

	// Only the [CLS] rows of the final hidden states reach the head.
	if st.clsOnly { // and they are all the last layer computed
		m.backwardEncoder(st, dcls)
		return nil
	}
	dout := sc.AllocZero(len(st.Hidden[len(m.Layers)])) // the last layer's rows
	for b := 0; b < B; b++ {
		r := st.clsRow(b)
		copy(dout[r*C:(r+1)*C], dcls[b*C:(b+1)*C])
	}
	m.backwardEncoder(st, dout)
	return nil
}

// headBackward accumulates the classifier's and the pooler's gradients
// given dlogits [B, L] and returns ∂L/∂cls [B, C], the gradient of the
// [CLS] rows of the final hidden states, in st.Scratch.
func (m *Model) headBackward(st *State, dlogits []float32) []float32 {
	B, C := st.B, m.Config.HiddenSize
	sc := &st.Scratch
	// logits = Classifier(dropout(pooled)), pooled = tanh(Pooler(cls)).
	dpooled := sc.AllocZero(B * C)
	m.Classifier.Backward(dpooled, dlogits, st.pooled, B)
	if st.headDrop {
		rng := st.headRNG
		m.HeadDrop.Apply(dpooled, dpooled, &rng)
	}
	for i, y := range st.Pooled { // tanh' = 1 - tanh²
		dpooled[i] *= 1 - y*y
	}
	dcls := sc.AllocZero(B * C)
	m.Pooler.Backward(dcls, dpooled, st.cls, B)
	return dcls
}

// BackwardHiddenLogits is BackwardHidden and Backward at once, for a loss
// that reads both the final hidden states and the classifier's logits (a
// masked-language-model head beside a sentence-level one): it accumulates
// the gradients given dhidden = ∂L/∂Hidden[L] [B*T, C] and dlogits =
// ∂L/∂logits [B, L], the pooler's and the classifier's included. dhidden is
// read, not changed, and must not live in st.Scratch.
func (m *Model) BackwardHiddenLogits(st *State, dhidden, dlogits []float32) error {
	if !st.Train || st.B == 0 {
		return fmt.Errorf("bert: BackwardHiddenLogits needs a Forward in training mode first (State.Train)")
	}
	if m.Classifier == nil {
		return fmt.Errorf("bert: BackwardHiddenLogits needs a classification head")
	}
	if st.clsOnly {
		return fmt.Errorf("bert: BackwardHiddenLogits needs every row of the last layer, but the Forward computed only the [CLS] rows (State.CLSOnly)")
	}
	B, C := st.B, m.Config.HiddenSize
	R := len(st.Hidden[len(m.Layers)]) / C
	if len(dhidden) < R*C {
		return fmt.Errorf("bert: BackwardHiddenLogits: %d hidden-state gradients, want %d (%d rows of Hidden[L], C=%d)", len(dhidden), R*C, R, C)
	}
	if len(dlogits) < B*m.Classifier.Out {
		return fmt.Errorf("bert: BackwardHiddenLogits: %d logit gradients, want %d", len(dlogits), B*m.Classifier.Out)
	}
	sc := &st.Scratch
	sc.Reset()
	dcls := m.headBackward(st, dlogits)
	dout := sc.Alloc(R * C)
	copy(dout, dhidden[:R*C])
	for b := 0; b < B; b++ {
		r := st.clsRow(b)
		kernels.Add(dout[r*C:(r+1)*C], dout[r*C:(r+1)*C], dcls[b*C:(b+1)*C])
	}
	m.backwardEncoder(st, dout)
	return nil
}

// BackwardHidden accumulates the gradients of the trainable parameters of
// the encoder and embeddings (and of the adapters) given dhidden =
// ∂L/∂Hidden[L] [B*T, C], the gradient of the final hidden states, after a
// Forward of st with st.Train set. It is Backward for heads other than the
// classifier (a masked-language-model head, say); the pooler gets no
// gradient. dhidden is read, not changed, and must not live in st.Scratch.
func (m *Model) BackwardHidden(st *State, dhidden []float32) error {
	if !st.Train || st.B == 0 {
		return fmt.Errorf("bert: BackwardHidden needs a Forward in training mode first (State.Train)")
	}
	if st.clsOnly {
		return fmt.Errorf("bert: BackwardHidden needs every row of the last layer, but the Forward computed only the [CLS] rows (State.CLSOnly)")
	}
	C := m.Config.HiddenSize
	R := len(st.Hidden[len(m.Layers)]) / C
	if len(dhidden) < R*C {
		return fmt.Errorf("bert: BackwardHidden: %d hidden-state gradients, want %d (%d rows of Hidden[L], C=%d)", len(dhidden), R*C, R, C)
	}
	sc := &st.Scratch
	sc.Reset()
	dout := sc.Alloc(R * C)
	copy(dout, dhidden[:R*C])
	m.backwardEncoder(st, dout)
	return nil
}

// backwardEncoder walks the encoder, top layer first, then the embeddings,
// from dout = ∂L/∂Hidden[L] in st.Scratch, which it overwrites: [B*T, C],
// or [B, C] when the last layer computed only the [CLS] rows.
func (m *Model) backwardEncoder(st *State, dout []float32) {
	N, C := st.nRows, m.Config.HiddenSize
	dx := st.Scratch.Alloc(N * C) // dout and dx swap roles between layers
	// Nothing below the lowest layer that trains anything needs a gradient
	// (fine-tuning the top k layers stops there).
	lowest := m.lowestTrained()
	for l := len(m.Layers) - 1; l >= max(lowest, 0); l-- {
		clear(dx)
		in := m.layerInput(st, l)
		m.Layers[l].backward(&st.layers[l], dx, dout, &in, st)
		if len(dout) < N*C { // the last layer's rows' gradient; the layers below have every row
			dout = st.Scratch.Alloc(N * C)
		}
		dout, dx = dx, dout
	}
	if lowest < 0 {
		m.Embeddings.backward(&st.emb, dout, st)
	}
}

// layerInput says how layer l's input is recomputed from what the forward
// kept: the previous layer's output norm applied to its saved input, or for
// layer 0 the embeddings' norm and dropout.
func (m *Model) layerInput(st *State, l int) layerInput {
	if l > 0 {
		return layerInput{ln: &m.Layers[l-1].FFLN, sum: st.layers[l-1].sum2}
	}
	e := &m.Embeddings
	in := layerInput{ln: &e.LN, sum: st.emb.sum}
	if st.emb.drop {
		in.drop, in.rng = e.Drop, st.emb.rng
		if st.unpadded {
			in.at = st.rowAt
		}
	}
	return in
}

// lowestTrained returns the index of the lowest encoder layer with a
// trainable parameter or an adapter, -1 when an embedding parameter is
// trainable, and len(Layers) when neither.
func (m *Model) lowestTrained() int {
	e := &m.Embeddings
	for _, p := range []*nn.Param{e.Word.W, e.Position.W, e.Type.W, e.LN.Gamma, e.LN.Beta} {
		if p.Trainable() {
			return -1
		}
	}
	for l := range m.Layers {
		if m.Layers[l].trains() {
			return l
		}
	}
	return len(m.Layers)
}

// checkLastRows validates State.LastRows for a batch of B sequences of T
// tokens.
func checkLastRows(rows []int32, b *Batch, unpadded bool) error {
	B, T := b.B, b.T
	if len(rows) == 0 || len(rows)%B != 0 || len(rows)/B > T {
		return fmt.Errorf("bert: State.LastRows has %d positions, want the same number (1 to %d) for each of %d sequences", len(rows), T, B)
	}
	Tq := len(rows) / B
	for i, p := range rows {
		switch {
		case p < 0 || int(p) >= T:
			return fmt.Errorf("bert: State.LastRows[%d] = %d is not a position of a sequence of %d tokens", i, p, T)
		case i%Tq == 0 && p != 0:
			return fmt.Errorf("bert: State.LastRows[%d] = %d: the rows of sequence %d must start with its [CLS] row, position 0", i, p, i/Tq)
		case unpadded && int(p) >= b.Lens[i/Tq]:
			return fmt.Errorf("bert: State.LastRows[%d] = %d is padding of sequence %d (%d real tokens), which an unpadded pass does not compute", i, p, i/Tq, b.Lens[i/Tq])
		}
	}
	return nil
}

// checkLens validates the lengths of a batch for an unpadded pass: each
// sequence's first Lens[b] positions are its real ones, and the rest
// padding.
func checkLens(b *Batch) error {
	if len(b.Lens) < b.B {
		return fmt.Errorf("bert: an unpadded pass needs the batch's lengths: %d for %d sequences", len(b.Lens), b.B)
	}
	for s, n := range b.Lens[:b.B] {
		if n < 1 || n > b.T {
			return fmt.Errorf("bert: sequence %d has length %d, want 1 to %d", s, n, b.T)
		}
		for t, v := range b.Mask[s*b.T : (s+1)*b.T] {
			if (t < n) != (v == 1) {
				return fmt.Errorf("bert: sequence %d of length %d has mask %v at position %d; an unpadded pass needs 1 on its real positions and 0 after", s, n, v, t)
			}
		}
	}
	return nil
}

// check validates a batch against the model.
func (m *Model) check(b *Batch) error {
	cfg := &m.Config
	BT := b.B * b.T
	switch {
	case b.B <= 0 || b.T <= 0:
		return fmt.Errorf("bert: empty batch (B=%d, T=%d)", b.B, b.T)
	case b.T > cfg.MaxPositions:
		return fmt.Errorf("bert: batch of %d tokens per sequence is longer than the model's %d positions", b.T, cfg.MaxPositions)
	case len(b.IDs) < BT || len(b.Mask) < BT:
		return fmt.Errorf("bert: batch B=%d T=%d has %d ids and %d mask values, want %d", b.B, b.T, len(b.IDs), len(b.Mask), BT)
	case b.TypeIDs != nil && len(b.TypeIDs) < BT:
		return fmt.Errorf("bert: batch B=%d T=%d has %d type ids, want %d", b.B, b.T, len(b.TypeIDs), BT)
	}
	if err := m.Embeddings.Word.CheckIDs(b.IDs[:BT]); err != nil {
		return fmt.Errorf("bert: batch token ids: %w", err)
	}
	if b.TypeIDs != nil {
		if err := m.Embeddings.Type.CheckIDs(b.TypeIDs[:BT]); err != nil {
			return fmt.Errorf("bert: batch token type ids: %w", err)
		}
	}
	return nil
}

// forward computes the embedding layer's output into out [N, C]: every row
// of the batch (N = B*T), or its real rows (State.Unpadded).
func (e *Embeddings) forward(a *embActs, out []float32, b *Batch, st *State) {
	B, T, C := b.B, b.T, e.Word.C
	BT, N := B*T, st.nRows
	ar, sc := &st.Arena, &st.Scratch
	*a = embActs{ids: b.IDs[:BT]}
	if b.TypeIDs != nil {
		a.types = b.TypeIDs[:BT]
	}
	if st.unpadded { // the real rows' ids
		st.ids = st.ids[:0]
		for _, g := range st.rowAt {
			st.ids = append(st.ids, b.IDs[g])
		}
		a.ids, a.pos = st.ids, st.rowPos
		if b.TypeIDs != nil {
			st.types = st.types[:0]
			for _, g := range st.rowAt {
				st.types = append(st.types, b.TypeIDs[g])
			}
			a.types = st.types
		}
	}
	var sum []float32
	if st.Train {
		sum = ar.Alloc(N * C)
		a.sum, a.mean, a.rstd = sum, ar.Alloc(N), ar.Alloc(N)
	} else {
		mark := sc.Mark()
		defer sc.Release(mark)
		sum = sc.Alloc(N * C)
	}
	e.Word.Forward(sum, a.ids)
	pos, typ := e.Position.W.W, e.Type.W.W
	for i := 0; i < N; i++ {
		row := sum[i*C : (i+1)*C]
		t, tt := a.position(i, T), 0
		if a.types != nil {
			tt = int(a.types[i])
		}
		p, ty := pos[t*C:(t+1)*C], typ[tt*C:(tt+1)*C]
		for c := range row {
			row[c] += p[c] + ty[c]
		}
	}
	e.LN.Forward(out, a.mean, a.rstd, sum, N)
	if e.Drop.Active(st.Train) {
		a.drop, a.rng = true, st.RNG
		if st.unpadded {
			e.Drop.ApplyAt(out, out, C, st.rowAt, C, st.RNG)
			st.RNG.Skip(BT * C)
		} else {
			e.Drop.Apply(out, out, &st.RNG)
		}
	}
}

// position returns the position in its sequence of row i.
func (a *embActs) position(i, T int) int {
	if a.pos != nil {
		return int(a.pos[i])
	}
	return i % T
}

// backward accumulates the embedding layer's gradients given dout [N, C],
// the gradient of its output (the rows of forward), which it overwrites.
func (e *Embeddings) backward(a *embActs, dout []float32, st *State) {
	T, C := st.T, e.Word.C
	N := st.nRows
	sc := &st.Scratch
	mark := sc.Mark()
	defer sc.Release(mark)
	dln := dout
	if a.drop {
		if st.unpadded {
			e.Drop.ApplyAt(dln, dout, C, st.rowAt, C, a.rng) // in place
		} else {
			rng := a.rng
			e.Drop.Apply(dln, dout, &rng) // in place
		}
	}
	if !e.Word.W.Trainable() && !e.Position.W.Trainable() && !e.Type.W.Trainable() {
		e.LN.Backward(nil, dln, a.sum, a.mean, a.rstd, N) // the layer norm's own gradients only
		return
	}
	dsum := sc.AllocZero(N * C)
	e.LN.Backward(dsum, dln, a.sum, a.mean, a.rstd, N)
	e.Word.Backward(dsum, a.ids)
	if e.Position.W.Trainable() {
		g := e.Position.W.G
		for i := 0; i < N; i++ {
			t := a.position(i, T)
			row, dst := dsum[i*C:(i+1)*C], g[t*C:(t+1)*C]
			for c, v := range row {
				dst[c] += v
			}
		}
	}
	if e.Type.W.Trainable() {
		g := e.Type.W.G
		for i := 0; i < N; i++ {
			tt := 0
			if a.types != nil {
				tt = int(a.types[i])
			}
			row, dst := dsum[i*C:(i+1)*C], g[tt*C:(tt+1)*C]
			for c, v := range row {
				dst[c] += v
			}
		}
	}
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func isLayerNorm(name string) bool {
	return strings.HasSuffix(name, "LayerNorm.weight") || strings.HasSuffix(name, "LayerNorm.bias")
}

// noDecay reports whether weight decay skips the parameter (biases and layer
// norms, as in the BERT recipe).
func noDecay(name string) bool { return strings.HasSuffix(name, ".bias") || isLayerNorm(name) }
