package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/splitmix"
	"github.com/petl-go/petl/internal/trainrun"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/optim"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// ErrInterrupted is returned by Run when its context was cancelled; a
// checkpoint was written first (when Out is set). It wraps
// trainrun.ErrInterrupted, as fine-tuning's does.
var ErrInterrupted = trainrun.Interrupted("pretraining")

// ErrDiverged is returned when the loss or the gradients stop being finite.
var ErrDiverged = trainrun.Diverged("pretraining")

// Config is a pretraining run.
type Config struct {
	Model     bert.Config // the shape; VocabSize must be the vocabulary's
	VocabPath string      // vocab.txt, copied into every checkpoint
	Lowercase bool        // the tokenizer lower-cases (uncased vocabulary)
	Out       string      // checkpoint folder; "" writes none

	Steps       int     // optimizer steps
	Batch       int     // sequences per step
	MaxLen      int     // tokens per sequence, special ones included
	LR          float64 // peak learning rate
	Warmup      float64 // warm-up fraction of Steps, then linear decay to 0
	AdamW       optim.AdamWConfig
	MaxGradNorm float64 // global gradient-norm clip; <= 0: none
	Seed        uint64

	Mask        MaskOptions
	TwoSegments float64 // see PackOptions
	// SOP adds sentence-order prediction (ALBERT): half of the two-segment
	// sequences have their segments swapped, and a two-way classifier on
	// the pooled [CLS] output (saved as cls.seq_relationship, the shape of
	// BERT's next-sentence head) learns to tell; its loss is added to the
	// MLM loss, and the pooler trains too.
	SOP bool
	// Init starts the weights from this checkpoint folder (Hugging Face
	// layout: the encoder, and the MLM head and cls.seq_relationship where
	// it has them) instead of random ones; the optimizer, schedule and step
	// count start afresh.
	Init      string
	HeldOut   float64 // fraction of documents held out for evaluation
	EvalSeqs  int     // held-out sequences evaluated (at most)
	EvalEvery int     // steps between evaluations and checkpoints; 0: only at the end
	Keep      int     // checkpoints kept (the newest); <= 0: 2

	Resume   bool      // continue from the newest checkpoint in Out
	Progress io.Writer // a line every LogEvery steps and at each evaluation; nil: quiet
	LogEvery int       // 0: about 100 lines a run
	// OnStep, if set, is called after every completed step (tests use it to
	// cancel the context at a given step).
	OnStep func(step int)
}

// DefaultConfig is BERT-tiny (L2 H128 A2 I512) over a vocabulary of vocab
// tokens with the settings used for it here.
func DefaultConfig(vocab int) Config {
	return Config{
		Model:     bert.TinyConfig(vocab),
		Lowercase: true, Steps: 10000, Batch: 32, MaxLen: 128, LR: 1e-3, Warmup: 0.02,
		AdamW: optim.DefaultAdamW(), MaxGradNorm: 1, Seed: 1,
		Mask: DefaultMask(), TwoSegments: 0.5, HeldOut: 0.01, EvalSeqs: 512, EvalEvery: 500,
	}
}

// Eval is one held-out evaluation: the mean loss and the accuracy of
// predicting the chosen tokens, all of them replaced by [MASK], and with
// Config.SOP those of sentence-order prediction on the two-segment
// sequences.
type Eval struct {
	Step        int     `json:"step"`
	Loss        float64 `json:"mlm_loss"`
	Accuracy    float64 `json:"mlm_accuracy"`
	Tokens      int     `json:"masked_tokens"`
	SOPLoss     float64 `json:"sop_loss,omitempty"`
	SOPAccuracy float64 `json:"sop_accuracy,omitempty"`
	SOPSeqs     int     `json:"sop_sequences,omitempty"`
}

// Result is the outcome of Run.
type Result struct {
	Steps        int       `json:"steps"`
	Evals        []Eval    `json:"evals"`
	Unigram      float64   `json:"unigram_baseline_loss"` // held-out loss of the training unigram distribution
	TrainSeqs    int       `json:"train_sequences"`
	TrainTokens  int       `json:"train_tokens"`
	HeldOutSeqs  int       `json:"heldout_sequences"`
	Losses       []float32 `json:"-"` // training loss of every step of this process
	Seconds      float64   `json:"seconds"`
	TokensPerSec float64   `json:"tokens_per_second"`
}

// Trainer runs MLM pretraining.
type Trainer struct {
	cfg   Config
	log   trainrun.Log // to cfg.Progress
	tok   *wordpiece.Tokenizer
	sp    Special
	train *Sequences
	held  *Sequences
	model *bert.Model
	head  *bert.MLMHead
	opt   *optim.AdamW
	sched optim.LinearWarmup
	ps    []*nn.Param // trainable: model (without pooler) and head

	step    int
	res     Result
	elapsed float64 // seconds of training before this process (resumed runs)

	// step buffers
	st    bert.State
	batch MLMBatch
	acts  bert.MLMActs
	ar    nn.Arena // head activations, gathered rows, logits
	idx   []int    // the step's sequences
	// hiddenRow [M] is the row of the last hidden states of each masked
	// position; fullLast has every layer compute every row (tests).
	hiddenRow []int32
	fullLast  bool
	seqRows   []int     // scratch of lastRows
	rowLoss   []float64 // [M] -log p[label] of each masked row
	rowHit    []bool    // [M] the row's argmax is its label
	perm      []int
	permEp    int
	unigram   []float64
}

// New prepares a run: tokenizes and packs the corpus, builds the model and
// the head, and (with cfg.Resume) loads the newest checkpoint of cfg.Out.
func New(cfg Config, docs []Document) (*Trainer, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	v, err := wordpiece.LoadVocab(cfg.VocabPath)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if v.Size() != cfg.Model.VocabSize {
		return nil, fmt.Errorf("pretrain: the vocabulary %s has %d tokens, the model config %d", cfg.VocabPath, v.Size(), cfg.Model.VocabSize)
	}
	t := &Trainer{cfg: cfg, log: trainrun.Log{W: cfg.Progress}, tok: wordpiece.NewTokenizer(v, cfg.Lowercase), sp: SpecialOf(v), permEp: -1}
	trainDocs, heldDocs := SplitHeldOut(docs, cfg.HeldOut)
	if len(heldDocs) == 0 || len(trainDocs) == 0 {
		return nil, fmt.Errorf("pretrain: %d documents give %d for training and %d held out: need both (change --heldout or use a larger corpus)", len(docs), len(trainDocs), len(heldDocs))
	}
	popt := PackOptions{MaxLen: cfg.MaxLen, TwoSegments: cfg.TwoSegments, Seed: cfg.Seed}
	if cfg.SOP {
		popt.Swap = 0.5
	}
	if t.train, err = Pack(trainDocs, t.tok, t.sp, popt); err != nil {
		return nil, err
	}
	popt.Seed ^= 0x4e1d
	if t.held, err = Pack(heldDocs, t.tok, t.sp, popt); err != nil {
		return nil, err
	}
	t.res.TrainSeqs, t.res.TrainTokens = t.train.Len(), t.train.Tokens()
	t.res.HeldOutSeqs = min(t.held.Len(), cfg.EvalSeqs)

	sopLabels := 0
	if cfg.SOP {
		sopLabels = 2 // the classifier is the sentence-order head
	}
	if t.model, err = bert.NewRandom(cfg.Model, sopLabels, cfg.Seed); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if t.head, err = bert.NewMLMHead(t.model, cfg.Seed^0x3e11); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	pooler := map[*nn.Param]bool{t.model.Pooler.W: true, t.model.Pooler.B: true}
	for _, p := range t.model.Params() {
		if !pooler[p] || cfg.SOP { // only a sentence-level objective trains the pooler
			t.model.SetTrainable(p, true)
			t.ps = append(t.ps, p)
		}
	}
	t.ps = append(t.ps, t.head.Params()...)
	if cfg.Init != "" {
		if err := t.loadWeights(cfg.Init, false); err != nil {
			return nil, fmt.Errorf("pretrain: --init: %w", err)
		}
	}
	if t.opt, err = optim.NewAdamW(t.ps, cfg.AdamW); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if t.sched, err = optim.NewLinearWarmup(cfg.LR, cfg.Steps, cfg.Warmup); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	t.unigram = unigramLogProbs(t.train, t.sp, cfg.Model.VocabSize)
	t.res.Unigram = t.unigramLoss()
	if cfg.Resume {
		if err := t.resume(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (c *Config) check() error {
	switch {
	case c.Steps <= 0:
		return fmt.Errorf("pretrain: --steps %d must be positive", c.Steps)
	case c.Batch <= 0:
		return fmt.Errorf("pretrain: --batch %d must be positive", c.Batch)
	case c.MaxLen < 8 || c.MaxLen > c.Model.MaxPositions:
		return fmt.Errorf("pretrain: --max-len %d must be in [8, %d]", c.MaxLen, c.Model.MaxPositions)
	case !(c.HeldOut > 0 && c.HeldOut < 1):
		return fmt.Errorf("pretrain: held-out fraction %v must be in (0, 1)", c.HeldOut)
	case !(c.Mask.Prob > 0 && c.Mask.Prob <= 1):
		return fmt.Errorf("pretrain: masking probability %v must be in (0, 1]", c.Mask.Prob)
	case c.Resume && c.Out == "":
		return fmt.Errorf("pretrain: --resume needs --out")
	case c.SOP && !(c.TwoSegments > 0):
		return fmt.Errorf("pretrain: sentence-order prediction needs two-segment sequences (--two-segments %v)", c.TwoSegments)
	case c.EvalSeqs <= 0:
		return fmt.Errorf("pretrain: %d evaluation sequences, need at least 1", c.EvalSeqs)
	}
	if err := c.Model.Validate(); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	return nil
}

// Model returns the model being trained; Head its MLM head.
func (t *Trainer) Model() *bert.Model    { return t.model }
func (t *Trainer) Head() *bert.MLMHead   { return t.head }
func (t *Trainer) Step() int             { return t.step }
func (t *Trainer) TrainSeqs() *Sequences { return t.train }

// Unigram is the held-out MLM loss of the training text's unigram
// distribution (on the positions of the evaluations during Run), the
// context-free baseline.
func (t *Trainer) Unigram() float64 { return t.res.Unigram }

// Run trains until cfg.Steps, evaluating and writing a checkpoint every
// EvalEvery steps and at the end. A cancelled ctx stops it after the current
// step with a checkpoint and ErrInterrupted.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	cfg := &t.cfg
	every := cfg.LogEvery
	if every <= 0 {
		every = max(1, cfg.Steps/100)
	}
	if t.step == 0 || len(t.res.Evals) == 0 {
		t.log.Printf("corpus: %d training sequences (%d tokens), %d held out (%d evaluated); unigram baseline held-out loss %.4f\n",
			t.train.Len(), t.train.Tokens(), t.held.Len(), t.res.HeldOutSeqs, t.res.Unigram)
	}
	if t.step == 0 {
		e := t.evaluate()
		t.log.Printf("step 0: held-out MLM loss %.4f accuracy %.4f (%d masked tokens)%s\n", e.Loss, e.Accuracy, e.Tokens, e.sopText())
	}
	start := time.Now()
	clock := trainrun.Clock{Start: start, StartStep: t.step}
	tokens := 0
	var stepTime time.Duration // in training steps only (no evaluations or checkpoints)
	lossSum, lossN := 0.0, 0
	hits, masked := 0, 0
	sopSum, sopN, sopHits := 0.0, 0, 0
	for t.step < cfg.Steps {
		if err := ctx.Err(); err != nil {
			return t.interrupt(err, start, tokens, stepTime)
		}
		t0 := time.Now()
		loss, n, c, m, sop, err := t.trainStep()
		stepTime += time.Since(t0)
		if err != nil {
			t.finish(start, tokens, stepTime)
			return t.result(), err
		}
		tokens += n
		lossSum += float64(loss)
		lossN++
		hits, masked = hits+c, masked+m
		sopSum, sopN, sopHits = sopSum+sop.loss*float64(sop.n), sopN+sop.n, sopHits+sop.correct
		if t.step%every == 0 || t.step == cfg.Steps {
			rate := trainrun.Rate(tokens, stepTime)
			sopText := ""
			if cfg.SOP {
				sopText = fmt.Sprintf(" (sop loss %.4f accuracy %.4f)", sopSum/float64(max(sopN, 1)), float64(sopHits)/float64(max(sopN, 1)))
			}
			t.log.Printf("step %d/%d loss %.4f accuracy %.4f%s lr %.3g %.0f tok/s, %s\n", t.step, cfg.Steps, lossSum/float64(lossN),
				float64(hits)/float64(max(masked, 1)), sopText, t.sched.At(t.step-1), rate, clock.Timing(time.Now(), t.step, cfg.Steps))
			lossSum, lossN, hits, masked = 0, 0, 0, 0
			sopSum, sopN, sopHits = 0, 0, 0
		}
		if (cfg.EvalEvery > 0 && t.step%cfg.EvalEvery == 0) || t.step == cfg.Steps {
			e := t.evaluate()
			t.log.Printf("step %d: held-out MLM loss %.4f accuracy %.4f (unigram %.4f)%s\n", t.step, e.Loss, e.Accuracy, t.res.Unigram, e.sopText())
			if err := t.checkpoint(start, tokens, stepTime); err != nil {
				return t.result(), err
			}
		}
		if cfg.OnStep != nil {
			cfg.OnStep(t.step)
		}
	}
	t.finish(start, tokens, stepTime)
	return t.result(), nil
}

// finish records the time spent (all of it, for Seconds) and the token
// rate of the training steps of this process.
func (t *Trainer) finish(start time.Time, tokens int, stepTime time.Duration) {
	t.res.Seconds = t.elapsed + time.Since(start).Seconds()
	if stepTime > 0 {
		t.res.TokensPerSec = trainrun.Rate(tokens, stepTime)
	}
}

func (t *Trainer) interrupt(cause error, start time.Time, tokens int, stepTime time.Duration) (*Result, error) {
	if t.cfg.Out == "" {
		t.finish(start, tokens, stepTime)
		return t.result(), fmt.Errorf("%w at step %d (%v); no --out to write a checkpoint to", ErrInterrupted, t.step, cause)
	}
	if err := t.checkpoint(start, tokens, stepTime); err != nil {
		return t.result(), errors.Join(fmt.Errorf("%w at step %d", ErrInterrupted, t.step), err)
	}
	t.log.Printf("interrupted at step %d/%d: checkpoint in %s (continue with --resume)\n", t.step, t.cfg.Steps, t.cfg.Out)
	return t.result(), fmt.Errorf("%w at step %d: checkpoint written to %s", ErrInterrupted, t.step, t.cfg.Out)
}

func (t *Trainer) result() *Result {
	r := t.res
	r.Steps = t.step
	r.Evals = append([]Eval(nil), t.res.Evals...)
	r.Losses = append([]float32(nil), t.res.Losses...)
	return &r
}

// batchIndices returns the sequences of step k: the training sequences in
// a fresh random order per epoch (task.Permutation, from the seed and the
// epoch), B at a time.
func (t *Trainer) batchIndices(k int, dst []int) []int {
	N, B := t.train.Len(), t.cfg.Batch
	dst = dst[:0]
	for j := 0; j < B; j++ {
		pos := k*B + j
		ep := pos / N
		if ep != t.permEp {
			t.perm = task.Permutation(N, splitmix.Mix64(t.cfg.Seed^0x5eed0000), ep)
			t.permEp = ep
		}
		dst = append(dst, t.perm[pos%N])
	}
	return dst
}

// sopStats are a batch's sentence-order figures: mean loss, right
// predictions, two-segment sequences.
type sopStats struct {
	loss       float64
	correct, n int
}

// trainStep runs step t.step: batch, masking, forward, loss, backward,
// clipping, update. It returns the mean MLM loss, the batch's real tokens,
// how many of its masked tokens were predicted right, of how many, and the
// sentence-order figures (with Config.SOP).
func (t *Trainer) trainStep() (loss float32, tokens, correct, masked int, sop sopStats, err error) {
	k := t.step
	t.idx = t.batchIndices(k, t.idx)
	idx := t.idx
	rng := nn.NewRNG(splitmix.Mix64(t.cfg.Seed ^ 0xa11ce ^ uint64(k)<<20))
	b := &t.batch
	b.Fill(t.train, idx, t.sp, t.cfg.Model.VocabSize, t.cfg.Mask, rng)
	t.st.Train = true
	t.st.RNG = *nn.NewRNG(splitmix.Mix64(t.cfg.Seed ^ 0xd209 ^ uint64(k)<<24))
	for _, p := range t.ps {
		p.ZeroGrad()
	}
	loss, correct, sop, err = t.forwardLoss(b, true)
	if err != nil {
		return 0, 0, 0, 0, sop, err
	}
	if total := float64(loss) + sop.loss; math.IsNaN(total) || math.IsInf(total, 0) {
		return 0, 0, 0, 0, sop, fmt.Errorf("%w at step %d: MLM loss %v, sentence-order loss %v", ErrDiverged, k+1, loss, sop.loss)
	}
	if _, err := optim.ClipGradNorm(t.ps, t.cfg.MaxGradNorm); err != nil {
		return 0, 0, 0, 0, sop, fmt.Errorf("%w at step %d: %w", ErrDiverged, k+1, err)
	}
	t.opt.Step(t.sched.At(t.opt.Steps()))
	t.step++
	t.res.Losses = append(t.res.Losses, loss)
	return loss, b.Tokens(), correct, b.M(), sop, nil
}

// forwardLoss runs the model and head on a masked batch and returns the mean
// cross-entropy over the masked positions and how many were predicted
// right, and with Config.SOP the sentence-order figures. The loss trained
// is their sum: the MLM mean plus the sentence-order mean. With backward it
// also accumulates every gradient.
func (t *Trainer) forwardLoss(b *MLMBatch, backward bool) (float32, int, sopStats, error) {
	C, V := t.cfg.Model.HiddenSize, t.cfg.Model.VocabSize
	M := b.M()
	var sop sopStats
	// The layers compute only the real rows (not the padding), and the last
	// layer only the rows the loss reads: the masked ones and the [CLS] rows.
	t.st.LastRows, t.hiddenRow = nil, t.hiddenRow[:0]
	t.st.Unpadded = !t.fullLast
	if !t.fullLast {
		t.st.LastRows, t.hiddenRow, t.seqRows = lastRows(b, t.st.LastRows, t.hiddenRow, t.seqRows)
	} else {
		for _, p := range b.Pos {
			t.hiddenRow = append(t.hiddenRow, p)
		}
	}
	if err := t.model.Forward(&t.st, &b.Batch); err != nil {
		return 0, 0, sop, fmt.Errorf("pretrain: %w", err)
	}
	hidden := t.st.Hidden[len(t.st.Hidden)-1] // [B*T, C], or the rows of LastRows
	ar := &t.ar
	ar.Reset()
	x := ar.Alloc(M * C) // gathered rows of the masked positions
	for i, r := range t.hiddenRow {
		copy(x[i*C:(i+1)*C], hidden[int(r)*C:int(r+1)*C])
	}
	logits := ar.Alloc(M * V)
	t.head.Forward(&t.acts, logits, x, M, ar)
	// The softmax in place, then with backward dlogits = (p - onehot) / M.
	probs := logits
	loss, correct := t.lossAndAccuracy(probs, b.Labels, V, backward)
	var dlogits []float32
	if t.cfg.SOP {
		sop, dlogits = t.sopLoss(b, backward)
	}
	if !backward {
		return float32(loss), correct, sop, nil
	}
	dx := ar.AllocZero(M * C)
	t.head.Backward(&t.acts, dx, probs, ar)
	dhidden := ar.AllocZero(len(hidden))
	for i, r := range t.hiddenRow {
		copy(dhidden[int(r)*C:int(r+1)*C], dx[i*C:(i+1)*C])
	}
	var err error
	if t.cfg.SOP {
		err = t.model.BackwardHiddenLogits(&t.st, dhidden, dlogits)
	} else {
		err = t.model.BackwardHidden(&t.st, dhidden)
	}
	if err != nil {
		return 0, 0, sop, fmt.Errorf("pretrain: %w", err)
	}
	return float32(loss), correct, sop, nil
}

// lastRows returns the rows of b the last layer must compute
// (bert.State.LastRows: in every sequence its [CLS] row, then its masked
// positions, the list padded to the longest by repeating the [CLS] row,
// whose gradient is zero) and, for each masked position of b, its row among
// them. The slices reuse the storage of rows, at and count (scratch).
func lastRows(b *MLMBatch, rows, at []int32, count []int) ([]int32, []int32, []int) {
	B, T := b.B, b.T
	count = slices.Grow(count[:0], B)[:B]
	clear(count)
	tq := 1 // the most rows of one sequence
	for _, p := range b.Pos {
		seq := int(p) / T
		count[seq]++
		tq = max(tq, 1+count[seq])
	}
	rows = slices.Grow(rows[:0], B*tq)[:B*tq]
	clear(rows) // [CLS], and the padding
	clear(count)
	at = at[:0]
	for _, p := range b.Pos {
		seq := int(p) / T
		count[seq]++
		r := seq*tq + count[seq]
		rows[r] = p - int32(seq*T)
		at = append(at, int32(r))
	}
	return rows, at, count
}

// lossAndAccuracy turns the rows of logits [M, V] (labels [M]) into
// probabilities p (softmax) and returns the mean of -log p[y] over them and
// how many rows have their first largest probability at the label. With
// grad it then turns each row, while it is in the cache, into the loss's
// gradient with respect to the logits: p[i*V+j]*(1/M) - (j == labels[i] ?
// 1/M : 0). The rows are split between the threads.
func (t *Trainer) lossAndAccuracy(probs []float32, labels []int32, V int, grad bool) (float64, int) {
	M := len(labels)
	inv := float32(1) / float32(M)
	if cap(t.rowLoss) < M {
		t.rowLoss = make([]float64, M)
		t.rowHit = make([]bool, M)
	}
	rowLoss, rowHit := t.rowLoss[:M], t.rowHit[:M]
	kernels.ParallelFor(M, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := probs[i*V : (i+1)*V]
			kernels.SoftmaxRows(row, row, 1, V, 1, nil)
			y := labels[i]
			rowLoss[i] = math.Log(math.Max(float64(row[y]), 1e-30))
			// The first largest: the vector maximum, then where it first is.
			rowHit[i] = int32(slices.Index(row, kernels.Max(row))) == y
			if grad {
				kernels.Scale(inv, row)
				row[y] -= inv
			}
		}
	})
	var loss float64
	correct := 0
	for i := range M { // in row order, as one loop over the rows sums
		loss -= rowLoss[i]
		if rowHit[i] {
			correct++
		}
	}
	return loss / float64(M), correct
}

// sopLoss is the sentence-order cross-entropy of the forward pass in t.st,
// averaged over the batch's two-segment sequences, and (with backward) its
// gradient with respect to the logits [B, 2], zero for the others, in t.ar.
func (t *Trainer) sopLoss(b *MLMBatch, backward bool) (sopStats, []float32) {
	var s sopStats
	var dlogits []float32
	if backward {
		dlogits = t.ar.AllocZero(2 * b.B)
	}
	for _, y := range b.SOP {
		if y >= 0 {
			s.n++
		}
	}
	if s.n == 0 {
		return s, dlogits
	}
	inv := 1 / float64(s.n)
	for i, y := range b.SOP {
		if y < 0 {
			continue
		}
		l0, l1 := float64(t.st.Logits[2*i]), float64(t.st.Logits[2*i+1])
		hi := math.Max(l0, l1)
		lse := hi + math.Log(math.Exp(l0-hi)+math.Exp(l1-hi))
		ly := l0
		if y == 1 {
			ly = l1
		}
		s.loss -= (ly - lse) * inv
		if (l1 > l0) == (y == 1) {
			s.correct++
		}
		if backward {
			p1 := math.Exp(l1 - lse)
			dlogits[2*i] = float32((1 - p1 - float64(1-y)) * inv)
			dlogits[2*i+1] = float32((p1 - float64(y)) * inv)
		}
	}
	return s, dlogits
}

// evalMask is the masking of held-out evaluations: the positions are chosen
// as in training, but every chosen token becomes [MASK], so the figures
// measure prediction from context alone (a chosen token left unchanged, as
// 10% are in training, could be copied from the input).
func (t *Trainer) evalMask() MaskOptions {
	m := t.cfg.Mask
	m.MaskShare, m.RandomShare = 1, 0
	return m
}

// heldOutBatches calls f with each batch of the first HeldOutSeqs held-out
// sequences, masked by mask (evalMask for the evaluations of a run) from the
// same seed every time, so that every evaluation (and the unigram baseline)
// sees the same positions.
func (t *Trainer) heldOutBatches(mask MaskOptions, f func(b *MLMBatch)) {
	n := t.res.HeldOutSeqs
	rng := nn.NewRNG(splitmix.Mix64(t.cfg.Seed ^ 0xe7a1))
	b := &t.batch // between training steps: free
	idx := make([]int, 0, t.cfg.Batch)
	for lo := 0; lo < n; lo += t.cfg.Batch {
		idx = idx[:0]
		for i := lo; i < min(n, lo+t.cfg.Batch); i++ {
			idx = append(idx, i)
		}
		b.Fill(t.held, idx, t.sp, t.cfg.Model.VocabSize, mask, rng)
		f(b)
	}
}

// evaluate measures MLM loss and accuracy on the held-out batches
// (heldOutBatches, evalMask), without dropout, and records it.
func (t *Trainer) evaluate() Eval {
	e := t.measure(t.evalMask())
	t.res.Evals = append(t.res.Evals, e)
	return e
}

// Evaluate measures the held-out MLM loss and accuracy of the current
// weights (and sentence order with Config.SOP), without dropout and
// without recording it in the run's history. With trainingMasking the
// chosen tokens are altered as in training (Config.Mask: 80% [MASK], 10% a
// random token, 10% kept, so some can be copied from the input), otherwise
// every chosen token is [MASK], the measure of the evaluations during Run.
// Both choose 15% of the positions by the same rule from the run's seed.
func (t *Trainer) Evaluate(trainingMasking bool) Eval {
	if trainingMasking {
		return t.measure(t.cfg.Mask)
	}
	return t.measure(t.evalMask())
}

// measure is the held-out evaluation with the given masking.
func (t *Trainer) measure(mask MaskOptions) Eval {
	t.st.Train = false
	var lossSum, sopSum float64
	masked, correct, sopN, sopHits := 0, 0, 0, 0
	t.heldOutBatches(mask, func(b *MLMBatch) {
		if b.M() == 0 {
			return
		}
		loss, c, sop, err := t.forwardLoss(b, false)
		if err != nil {
			return
		}
		lossSum += float64(loss) * float64(b.M())
		masked += b.M()
		correct += c
		sopSum += sop.loss * float64(sop.n)
		sopN += sop.n
		sopHits += sop.correct
	})
	e := Eval{Step: t.step, Tokens: masked, SOPSeqs: sopN}
	if masked > 0 {
		e.Loss, e.Accuracy = lossSum/float64(masked), float64(correct)/float64(masked)
	}
	if sopN > 0 {
		e.SOPLoss, e.SOPAccuracy = sopSum/float64(sopN), float64(sopHits)/float64(sopN)
	}
	return e
}

// sopText is the sentence-order part of a progress line ("" without it).
func (e Eval) sopText() string {
	if e.SOPSeqs == 0 {
		return ""
	}
	return fmt.Sprintf("; sentence order loss %.4f accuracy %.4f (%d sequences)", e.SOPLoss, e.SOPAccuracy, e.SOPSeqs)
}

// unigramLoss is the held-out loss of predicting every masked token from
// the training unigram distribution (the masks of evaluate).
func (t *Trainer) unigramLoss() float64 {
	var sum float64
	m := 0
	t.heldOutBatches(t.evalMask(), func(b *MLMBatch) {
		for _, y := range b.Labels {
			sum -= t.unigram[y]
			m++
		}
	})
	if m == 0 {
		return 0
	}
	return sum / float64(m)
}

// unigramLogProbs is the log of the add-one-smoothed frequency of each
// ordinary token in the training sequences.
func unigramLogProbs(s *Sequences, sp Special, V int) []float64 {
	counts := make([]float64, V)
	total := 0.0
	for _, id := range s.IDs {
		if id != sp.CLS && id != sp.SEP && id != sp.PAD {
			counts[id]++
			total++
		}
	}
	lp := make([]float64, V)
	for i, c := range counts {
		lp[i] = math.Log((c + 1) / (total + float64(V)))
	}
	return lp
}
