package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/splitmix"
	"github.com/petl-go/petl/internal/trainrun"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/optim"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// Config are a training run's settings. Zero values take the defaults
// noted.
type Config struct {
	Plan   adapter.Plan // which parameters train
	Epochs int          // passes over the training set; default 3
	LR     float64      // peak learning rate; default 1e-3 for adapters, 2e-5 otherwise
	Batch  int          // examples per step; default 32
	MaxLen int          // tokens per sequence, special tokens included; default 128
	Seed   uint64       // seeds the head, the adapters, the order of examples and dropout

	Warmup      float64           // fraction of the steps warming up, in [0, 1]; default optim.DefaultWarmup (0.1); Off: none
	AdamW       optim.AdamWConfig // default optim.DefaultAdamW() (weight decay 0.01)
	MaxGradNorm float64           // clipping threshold of the global gradient norm; default 1; Off: no clipping
	EvalBatch   int               // examples per evaluation batch; default 2·Batch
	Limit       int               // recorded in the adapter file: training examples were limited to the first Limit

	// Patience stops the run early after Patience dev evaluations in a row
	// without a better score in the task's main metric (the adapter file
	// keeps the best weights, as always); 0 never stops early. It needs a
	// dev set.
	Patience int

	// Metrics is a JSON-lines file that receives one MetricsRecord per
	// evaluation (after each epoch); "" writes none. A fresh run empties
	// it; a resumed one keeps the records up to the checkpoint's step.
	Metrics string

	// Out is the adapter file written with the best dev score (see
	// adapter.Paths); "" writes none.
	Out string
	// Checkpoint is the resumable checkpoint written on interruption, at
	// the end of each epoch and every CheckpointEvery steps; "" writes
	// none. Default: Out's stem + ".ckpt.safetensors". A run that finishes
	// (all epochs, or stopped early) removes it unless KeepCheckpoint,
	// which also writes it after the last epoch.
	Checkpoint      string
	CheckpointEvery int
	KeepCheckpoint  bool

	// Base describes the base model (its fingerprint goes into the adapter
	// file and the checkpoint).
	Base adapter.Base

	// Progress receives the run's header (with the share of [UNK]
	// wordpieces in the data, and a warning above UnknownWarnShare), a
	// progress line with the rate and ETA every LogInterval (default 10 s)
	// or, when LogEvery > 0, every LogEvery steps, a line per evaluation
	// and a summary at the end; nil for none.
	Progress    io.Writer
	LogEvery    int
	LogInterval time.Duration
	// OnStep, if set, is called after every step with the step number
	// (from 1) and its loss.
	OnStep func(step int, loss float32)
	// Guard, if set, runs every training step and every evaluation: the
	// base's petl.Base.Guard, so that a memory-mapped base file truncated
	// or rewritten under the run is an error naming the file (at the step
	// it was found), never a crash nor an adapter trained on other
	// weights.
	Guard func(fn func() error) error
}

// Off, as Config.Warmup, means no warm-up, and as Config.MaxGradNorm no
// clipping (their zero values take the defaults).
const Off = -1.0

// withDefaults fills in defaults and validates c.
func (c Config) withDefaults() (Config, error) {
	if c.Epochs == 0 {
		c.Epochs = 3
	}
	if c.LR == 0 {
		c.LR = 2e-5
		if c.Plan.Method == adapter.MethodAdapter {
			c.LR = 1e-3
		}
	}
	if c.Batch == 0 {
		c.Batch = 32
	}
	if c.MaxLen == 0 {
		c.MaxLen = 128
	}
	switch c.Warmup {
	case 0:
		c.Warmup = optim.DefaultWarmup
	case Off:
		c.Warmup = 0
	}
	if c.AdamW == (optim.AdamWConfig{}) {
		c.AdamW = optim.DefaultAdamW()
	}
	switch c.MaxGradNorm {
	case 0:
		c.MaxGradNorm = 1
	case Off:
		c.MaxGradNorm = 0
	}
	if c.LogInterval == 0 {
		c.LogInterval = 10 * time.Second
	}
	if c.EvalBatch == 0 {
		c.EvalBatch = 2 * c.Batch
	}
	if c.Checkpoint == "" && c.Out != "" {
		w, _ := adapter.Paths(c.Out)
		c.Checkpoint = w[:len(w)-len(".safetensors")] + ".ckpt.safetensors"
	}
	switch {
	case c.Epochs < 0:
		return c, fmt.Errorf("train: %d epochs", c.Epochs)
	case c.Batch < 0 || c.EvalBatch < 0:
		return c, fmt.Errorf("train: batch size %d (evaluation %d) must be positive", c.Batch, c.EvalBatch)
	case c.MaxLen < 3:
		return c, fmt.Errorf("train: max length %d cannot hold [CLS] a [SEP] b [SEP]; want at least 3", c.MaxLen)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return c, fmt.Errorf("train: learning rate %v must be positive", c.LR)
	case !(c.Warmup >= 0 && c.Warmup <= 1):
		return c, fmt.Errorf("train: warm-up fraction %v not in [0, 1] (Off for none)", c.Warmup)
	case !(c.MaxGradNorm >= 0) || math.IsInf(c.MaxGradNorm, 0):
		return c, fmt.Errorf("train: gradient clipping norm %v must be positive (Off for no clipping)", c.MaxGradNorm)
	case c.Patience < 0:
		return c, fmt.Errorf("train: patience %d must be 0 (never stop early) or more", c.Patience)
	case c.CheckpointEvery < 0:
		return c, fmt.Errorf("train: checkpoint every %d steps: want 0 (only at epoch ends) or more", c.CheckpointEvery)
	}
	return c, c.AdamW.Validate()
}

// ErrInterrupted is returned (wrapped, together with the context's error)
// by Run when its context was cancelled; the checkpoint it names resumes the
// run. It wraps trainrun.ErrInterrupted, as pretraining's does.
var ErrInterrupted = trainrun.Interrupted("training")

// ErrDiverged is returned (wrapped) by Run when a loss or gradient norm is
// not finite; the error names the step.
var ErrDiverged = trainrun.Diverged("training")

// EpochResult is the dev evaluation after one epoch.
type EpochResult struct {
	Epoch    int                // 1-based
	Step     int                // steps done
	Scores   map[string]float64 // dev metrics (nil without a dev set)
	MeanLoss float64            // mean training loss over the epoch's steps
}

// Result summarises a run.
type Result struct {
	Losses       []float32     // the loss of every step, in order (restored across Resume)
	Epochs       []EpochResult // one per epoch done
	Best         float64       // best dev score (the task's main metric); NaN without a dev set
	BestEpoch    int           // epoch of Best (0: none)
	Steps        int           // steps done
	StoppedEarly bool          // Config.Patience ended the run before its last epoch
}

// MetricsRecord is one line of the metrics file (Config.Metrics): the
// state of the run at an evaluation.
type MetricsRecord struct {
	Step           int                `json:"step"`             // optimiser steps done
	Epoch          int                `json:"epoch"`            // epochs done (1-based)
	Loss           float64            `json:"loss"`             // mean training loss since the last record
	LR             float64            `json:"lr"`               // learning rate of the last step
	Dev            map[string]float64 `json:"dev,omitempty"`    // dev metrics (none without a dev set)
	Best           bool               `json:"best"`             // the best dev score so far: the adapter file holds these weights
	ExamplesPerSec float64            `json:"examples_per_sec"` // training examples per second since the last record (or the start or resumption)
	Elapsed        float64            `json:"elapsed_sec"`      // seconds of the run so far, across resumptions
}

// Trainer trains one model on one task.
type Trainer struct {
	cfg   Config
	log   trainrun.Log // to cfg.Progress
	model *bert.Model
	spec  *task.Spec
	setup *adapter.Setup
	opt   *optim.AdamW
	sched optim.LinearWarmup
	lower bool // tokenizer lower-cases (recorded in the adapter file)

	train, dev         encoded
	numLabels          int
	batchesPerEpoch    int
	totalSteps         int
	trainExamples      int
	stepsSinceCkpt     int
	hasCheckpoint      bool
	lastCheckpointPath string
	ckptStep           int
	resumed            bool
	metricsStarted     bool
	trainUnk, devUnk   UnknownCount
	meter              meter
	elapsedBefore      time.Duration // training time of the run before this process (checkpointed)

	// Position and history (checkpointed).
	step, epoch, batchInEpoch int
	res                       Result
	epochLossSum              float64
	epochLossN                int

	// guardStep is runGuarded bound once (a method value allocates), and
	// stepIdx, stepLoss its argument and result: a step under Config.Guard
	// allocates nothing.
	guardStep func() error
	stepIdx   []int
	stepLoss  float32

	// Reused buffers.
	st      bert.State
	evalSt  bert.State
	batch   bert.Batch
	encs    []wordpiece.Encoding
	probs   []float32
	dlogits []float32
	labels  []int32
	targets []float32
}

// New prepares a training run of m on trainSet (evaluated on devSet, which
// may be nil): it gives m a fresh head for the task, sets up the method's
// trainable parameters (attaching adapters), tokenizes both sets and makes
// the optimiser and schedule. m must be the base model, with nothing
// trained yet.
func New(m *bert.Model, tok *wordpiece.Tokenizer, trainSet, devSet *task.Dataset, cfg Config) (*Trainer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if trainSet == nil || len(trainSet.Examples) == 0 {
		return nil, fmt.Errorf("train: no training examples")
	}
	if !trainSet.Labelled || (devSet != nil && !devSet.Labelled) {
		return nil, fmt.Errorf("train: training and dev data must be labelled")
	}
	if cfg.Patience > 0 && (devSet == nil || len(devSet.Examples) == 0) {
		return nil, fmt.Errorf("train: patience %d needs a dev set to evaluate on", cfg.Patience)
	}
	spec := trainSet.Task
	nl := spec.NumLabels()
	if nl < 1 || (!spec.Regression && nl < 2) {
		return nil, fmt.Errorf("train: task %s has %d labels", spec.Name, nl)
	}
	t := &Trainer{cfg: cfg, log: trainrun.Log{W: cfg.Progress}, model: m, spec: spec, numLabels: nl, lower: tok.Lowercase()}
	m.InitClassifier(nl, cfg.Seed^0x6865_6164)                                         // "head"
	if t.setup, err = adapter.Prepare(m, cfg.Plan, cfg.Seed^0x6164_6170); err != nil { // "adap"
		return nil, fmt.Errorf("train: %w", err)
	}
	if t.opt, err = optim.NewAdamW(t.setup.Trainable, cfg.AdamW); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t.train = encode(tok, trainSet, cfg.MaxLen)
	t.trainUnk = CountUnknown(tok, trainSet)
	if devSet != nil {
		t.dev = encode(tok, devSet, cfg.MaxLen)
		t.devUnk = CountUnknown(tok, devSet)
	}
	t.trainExamples = len(trainSet.Examples)
	t.batchesPerEpoch = task.NumBatches(t.trainExamples, cfg.Batch, false)
	t.totalSteps = cfg.Epochs * t.batchesPerEpoch
	if t.sched, err = optim.NewLinearWarmup(cfg.LR, max(t.totalSteps, 1), cfg.Warmup); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t.res.Best = math.NaN()
	t.encs = make([]wordpiece.Encoding, cfg.Batch)
	t.probs = make([]float32, cfg.Batch*nl)
	t.dlogits = make([]float32, cfg.Batch*nl)
	t.labels = make([]int32, cfg.Batch)
	t.targets = make([]float32, cfg.Batch)
	t.st.Train = true
	// The loss reads only the [CLS] rows: the last layer computes (and
	// backpropagates through) those rows alone, and no layer the padding,
	// for the same gradients up to rounding.
	t.st.CLSOnly, t.st.Unpadded = true, true
	return t, nil
}

// Setup is the trainable-parameter setup (its Summary is the "trained
// parameters per task" line).
func (t *Trainer) Setup() *adapter.Setup { return t.setup }

// TotalSteps is the number of optimiser steps of the whole run.
func (t *Trainer) TotalSteps() int { return t.totalSteps }

// Config is the run's configuration with defaults filled in (Off already
// turned into 0: there, 0 means none).
func (t *Trainer) Config() Config { return t.cfg }

// Unknown is the count of [UNK] wordpieces in the training and dev sets
// (see CountUnknown).
func (t *Trainer) Unknown() (train, dev UnknownCount) { return t.trainUnk, t.devUnk }

// Run trains until every epoch is done, evaluating after each, and returns
// the result; with Config.Patience it stops early once the dev score has
// not improved for that many evaluations. When ctx is cancelled it stops
// after the current step, writes a checkpoint and returns the result so far
// with an error wrapping ErrInterrupted (and naming the checkpoint). A
// non-finite loss or gradient norm stops it with an error wrapping
// ErrDiverged that names the step; the last checkpoint written is kept,
// nothing newer is written. A run that finishes removes its checkpoint
// unless Config.KeepCheckpoint.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	t.log.Printf("%s\n", t.setup.Summary())
	t.log.Printf("task %s: %d training examples, %d dev; %d epochs of %d steps (batch %d), max length %d\n",
		t.spec.Name, t.trainExamples, t.dev.n(), t.cfg.Epochs, t.batchesPerEpoch, t.cfg.Batch, t.cfg.MaxLen)
	t.logUnknown("training set", t.trainUnk)
	if t.dev.n() > 0 {
		t.logUnknown("dev set", t.devUnk)
	}
	if err := t.startMetrics(); err != nil {
		return t.result(), err
	}
	t.meter.begin(time.Now(), t.step)
	for t.epoch < t.cfg.Epochs && !t.exhausted() {
		order := task.Permutation(t.trainExamples, t.cfg.Seed, t.epoch)
		batches := task.Batches(order, t.cfg.Batch, false)
		for t.batchInEpoch < len(batches) {
			if err := ctx.Err(); err != nil {
				return t.interrupt(err)
			}
			idx := batches[t.batchInEpoch]
			loss, err := t.guardedStep(idx)
			if err != nil {
				return t.result(), t.diverged(err)
			}
			t.batchInEpoch++
			t.res.Losses = append(t.res.Losses, loss)
			t.epochLossSum += float64(loss)
			t.epochLossN++
			t.meter.add(len(idx), loss)
			if t.cfg.OnStep != nil {
				t.cfg.OnStep(t.step, loss)
			}
			if t.batchInEpoch < len(batches) && t.meter.due(time.Now(), t.step, t.cfg.LogEvery, t.cfg.LogInterval) {
				t.logProgress()
			}
			t.stepsSinceCkpt++
			if t.cfg.CheckpointEvery > 0 && t.stepsSinceCkpt >= t.cfg.CheckpointEvery && t.batchInEpoch < len(batches) {
				if err := t.writeCheckpoint(); err != nil {
					return t.result(), err
				}
			}
		}
		if err := t.endEpoch(); err != nil {
			return t.result(), err
		}
	}
	return t.finish()
}

// exhausted reports whether Config.Patience evaluations in a row have not
// improved on the best dev score.
func (t *Trainer) exhausted() bool {
	return t.cfg.Patience > 0 && t.res.BestEpoch > 0 && len(t.res.Epochs)-t.res.BestEpoch >= t.cfg.Patience
}

// endEpoch evaluates, keeps the best, records the metrics and moves to the
// next epoch, writing a checkpoint unless the run ends here and the
// checkpoint is not to be kept.
func (t *Trainer) endEpoch() error {
	er := EpochResult{Epoch: t.epoch + 1, Step: t.step, MeanLoss: t.epochLossSum / float64(max(1, t.epochLossN))}
	better := true
	if t.dev.n() > 0 {
		var scores map[string]float64
		err := t.guard(func() (err error) {
			scores, _, err = t.evaluate()
			return err
		})
		if err != nil {
			return err
		}
		er.Scores = scores
		main := scores[t.spec.Main]
		// A NaN score is worse than any number.
		better = t.res.BestEpoch == 0 || main > t.res.Best || (math.IsNaN(t.res.Best) && !math.IsNaN(main))
		if better {
			t.res.Best, t.res.BestEpoch = main, er.Epoch
			if t.cfg.Out != "" {
				if err := t.SaveAdapter(t.cfg.Out, scores); err != nil {
					return err
				}
			}
		}
	} else {
		if t.cfg.Out != "" {
			if err := t.SaveAdapter(t.cfg.Out, nil); err != nil {
				return err
			}
		}
		t.res.BestEpoch = er.Epoch
	}
	t.res.Epochs = append(t.res.Epochs, er)
	now := time.Now()
	rate := t.meter.recordRate(now)
	rec := MetricsRecord{
		Step: er.Step, Epoch: er.Epoch, Loss: er.MeanLoss, LR: t.lr(), Dev: er.Scores, Best: better,
		ExamplesPerSec: rate, Elapsed: t.elapsed(now).Seconds(),
	}
	line := fmt.Sprintf("epoch %d/%d (step %d/%d): train loss %.4f", er.Epoch, t.cfg.Epochs, t.step, t.totalSteps, er.MeanLoss)
	if er.Scores != nil {
		line += "; dev " + task.FormatScores(t.spec, er.Scores)
		if better {
			line += " (best)"
		}
	}
	t.log.Printf("%s; %.0f ex/s, %s\n", line, rate, t.meter.Timing(now, t.step, t.totalSteps))
	if err := t.writeMetrics(rec); err != nil {
		return err
	}
	t.epoch++
	t.batchInEpoch = 0
	t.epochLossSum, t.epochLossN = 0, 0
	t.meter.resetRecord(time.Now())
	if (t.epoch == t.cfg.Epochs || t.exhausted()) && !t.cfg.KeepCheckpoint {
		return nil // the run ends here: finish removes the checkpoint
	}
	return t.writeCheckpoint()
}

// finish ends a run that trained all its epochs or stopped early: it
// removes the checkpoint (unless kept) and logs the summary.
func (t *Trainer) finish() (*Result, error) {
	t.res.StoppedEarly = t.epoch < t.cfg.Epochs
	if t.cfg.Checkpoint != "" && !t.cfg.KeepCheckpoint {
		if err := os.Remove(t.cfg.Checkpoint); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.log.Printf("warning: the finished run's checkpoint stays behind: %v\n", err)
		}
	}
	now := time.Now()
	summary := fmt.Sprintf("%d steps (%d epoch%s) in %s", t.step, t.epoch, plural(t.epoch), t.elapsed(now).Round(100*time.Millisecond))
	if d := now.Sub(t.meter.Start); t.step > t.meter.StartStep && d > 0 {
		summary += fmt.Sprintf(", %.0f ex/s", trainrun.Rate(t.meter.examples, d))
	}
	if t.res.StoppedEarly {
		best := t.res.Epochs[t.res.BestEpoch-1]
		t.log.Printf("stopped early after epoch %d of %d: dev %s not better than %.4f (epoch %d) for %d evaluations (patience %d); %s\n",
			t.epoch, t.cfg.Epochs, t.spec.Main, best.Scores[t.spec.Main], t.res.BestEpoch, t.cfg.Patience, t.cfg.Patience, summary)
	} else {
		t.log.Printf("finished %s\n", summary)
	}
	return t.result(), nil
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// logUnknown logs the share of [UNK] wordpieces in a data set, and a
// warning when it is high.
func (t *Trainer) logUnknown(name string, c UnknownCount) {
	t.log.Printf("%s: %v\n", name, c)
	if w := c.Warning(t.spec.Name+" "+name, t.lower); w != "" {
		t.log.Printf("%s\n", w)
	}
}

// logProgress logs a progress line: position, mean loss since the last
// line, learning rate, rate and ETA.
func (t *Trainer) logProgress() {
	now := time.Now()
	loss, rate := t.meter.window(now)
	t.log.Printf("epoch %d/%d step %d/%d: loss %.4f, lr %.3g, %.0f ex/s, %s\n",
		t.epoch+1, t.cfg.Epochs, t.step, t.totalSteps, loss, t.lr(), rate, t.meter.Timing(now, t.step, t.totalSteps))
}

// lr is the learning rate of the last step (0 before the first).
func (t *Trainer) lr() float64 {
	if t.step == 0 {
		return 0
	}
	return t.sched.At(t.step - 1)
}

// elapsed is the run's training time so far, across resumptions.
func (t *Trainer) elapsed(now time.Time) time.Duration {
	if t.meter.Start.IsZero() {
		return t.elapsedBefore
	}
	return t.elapsedBefore + now.Sub(t.meter.Start)
}

// meter measures a Run: rates, the mean loss between progress lines, ETA.
type meter struct {
	trainrun.Clock     // Run began
	examples       int // examples trained since Start

	lastLog           time.Time // last progress line (or start)
	logExamples, logN int       // since the last progress line
	logLoss           float64
	recStart          time.Time // last metrics record (or start)
	recExamples       int       // since the last metrics record
}

func (m *meter) begin(now time.Time, step int) {
	*m = meter{Clock: trainrun.Clock{Start: now, StartStep: step}, lastLog: now, recStart: now}
}

func (m *meter) add(examples int, loss float32) {
	m.examples += examples
	m.logExamples += examples
	m.recExamples += examples
	m.logLoss += float64(loss)
	m.logN++
}

// due reports whether a progress line is due after step: every logEvery
// steps when logEvery > 0, else once interval has passed since the last.
func (m *meter) due(now time.Time, step, logEvery int, interval time.Duration) bool {
	if logEvery > 0 {
		return step%logEvery == 0
	}
	return now.Sub(m.lastLog) >= interval
}

// window returns the mean loss and the examples per second since the last
// progress line, and starts a new window.
func (m *meter) window(now time.Time) (loss, rate float64) {
	loss = m.logLoss / float64(max(1, m.logN))
	rate = trainrun.Rate(m.logExamples, now.Sub(m.lastLog))
	m.lastLog, m.logExamples, m.logLoss, m.logN = now, 0, 0, 0
	return loss, rate
}

// recordRate is the examples per second since the last metrics record.
func (m *meter) recordRate(now time.Time) float64 {
	return trainrun.Rate(m.recExamples, now.Sub(m.recStart))
}

// resetRecord starts the next metrics record's window (and the progress
// line's, so that no rate spans an evaluation).
func (m *meter) resetRecord(now time.Time) {
	m.recStart, m.recExamples = now, 0
	m.lastLog, m.logExamples, m.logLoss, m.logN = now, 0, 0, 0
}

// guard runs fn under Config.Guard, if set.
func (t *Trainer) guard(fn func() error) error {
	if t.cfg.Guard == nil {
		return fn()
	}
	return t.cfg.Guard(fn)
}

// guardedStep is trainStep under Config.Guard, if set.
func (t *Trainer) guardedStep(idx []int) (float32, error) {
	if t.cfg.Guard == nil {
		return t.trainStep(idx)
	}
	if t.guardStep == nil {
		t.guardStep = t.runGuarded
	}
	t.stepIdx = idx
	err := t.cfg.Guard(t.guardStep)
	t.stepIdx = nil
	return t.stepLoss, err
}

// runGuarded is trainStep(t.stepIdx), its loss in t.stepLoss.
func (t *Trainer) runGuarded() error {
	var err error
	t.stepLoss, err = t.trainStep(t.stepIdx)
	return err
}

// trainStep runs one forward, backward and update on the examples idx and
// returns the loss.
func (t *Trainer) trainStep(idx []int) (float32, error) {
	B := len(idx)
	encs := t.encs[:B]
	for i, j := range idx {
		encs[i] = t.train.encs[j]
	}
	t.batch.Fill(encs, 0, t.train.pad)
	// Dropout masks depend only on (seed, step).
	t.st.RNG = *nn.NewRNG(splitmix.Mix64(t.cfg.Seed ^ splitmix.Mix64(uint64(t.step)+0x5354_4550)))
	if err := t.model.Forward(&t.st, &t.batch); err != nil {
		return 0, fmt.Errorf("train: step %d: %w", t.step+1, err)
	}
	L := t.numLabels
	logits := t.st.Logits[:B*L]
	var loss float32
	t.opt.ZeroGrad()
	dl := t.dlogits[:B*L]
	clear(dl)
	if t.spec.Regression {
		tg := t.targets[:B]
		for i, j := range idx {
			tg[i] = t.train.targets[j]
		}
		loss = nn.MSE{}.Forward(logits, tg)
		nn.MSE{}.Backward(dl, logits, tg, 1)
	} else {
		lb := t.labels[:B]
		for i, j := range idx {
			lb[i] = t.train.labels[j]
		}
		loss = nn.CrossEntropy{}.Forward(t.probs[:B*L], logits, lb, B, L)
		nn.CrossEntropy{}.Backward(dl, t.probs[:B*L], lb, B, L, 1)
	}
	step := t.step + 1
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return loss, fmt.Errorf("%w at step %d (epoch %d): loss is %v", ErrDiverged, step, t.epoch+1, loss)
	}
	if err := t.model.Backward(&t.st, dl); err != nil {
		return loss, fmt.Errorf("train: step %d: %w", step, err)
	}
	if _, err := optim.ClipGradNorm(t.setup.Trainable, t.cfg.MaxGradNorm); err != nil {
		return loss, fmt.Errorf("%w at step %d (epoch %d): %w", ErrDiverged, step, t.epoch+1, err)
	}
	t.opt.Step(t.sched.At(t.opt.Steps()))
	t.step = step
	return loss, nil
}

// diverged adds to a step error where the last good checkpoint is.
func (t *Trainer) diverged(err error) error {
	if !errors.Is(err, ErrDiverged) {
		return err
	}
	if t.hasCheckpoint {
		return fmt.Errorf("%w; the last good checkpoint is %s (step %d)", err, t.lastCheckpointPath, t.lastCheckpointStep())
	}
	return fmt.Errorf("%w; no checkpoint was written before it", err)
}

// interrupt writes a checkpoint after a cancellation.
func (t *Trainer) interrupt(cause error) (*Result, error) {
	if t.cfg.Checkpoint == "" {
		return t.result(), fmt.Errorf("%w at step %d (%w); no checkpoint path was configured", ErrInterrupted, t.step, cause)
	}
	if err := t.writeCheckpoint(); err != nil {
		return t.result(), errors.Join(fmt.Errorf("%w at step %d (%w)", ErrInterrupted, t.step, cause), err)
	}
	t.log.Printf("interrupted at step %d/%d: checkpoint %s (continue with --resume %s)\n", t.step, t.totalSteps, t.cfg.Checkpoint, t.cfg.Checkpoint)
	return t.result(), fmt.Errorf("%w at step %d (%w): checkpoint written to %s", ErrInterrupted, t.step, cause, t.cfg.Checkpoint)
}

func (t *Trainer) result() *Result {
	r := t.res
	r.Steps = t.step
	r.Losses = append([]float32(nil), t.res.Losses...)
	r.Epochs = append([]EpochResult(nil), t.res.Epochs...)
	return &r
}

// SaveAdapter writes the current trainable weights as an adapter file at
// path, recording dev (the scores of these weights; may be nil).
func (t *Trainer) SaveAdapter(path string, dev map[string]float64) error {
	fc := adapter.FileConfig{
		Task: t.spec.Key, TaskName: t.spec.Name, Regression: t.spec.Regression, Labels: t.spec.Labels,
		MaxLen: t.cfg.MaxLen, Lowercase: t.lower,
		Training: adapter.Training{
			Epochs: t.cfg.Epochs, LR: t.cfg.LR, Batch: t.cfg.Batch, Seed: t.cfg.Seed, Warmup: t.cfg.Warmup,
			WeightDecay: float64(t.cfg.AdamW.WeightDecay), Beta1: float64(t.cfg.AdamW.Beta1), Beta2: float64(t.cfg.AdamW.Beta2),
			AdamEps: float64(t.cfg.AdamW.Eps), MaxGradNorm: t.cfg.MaxGradNorm, Limit: t.cfg.Limit,
			Examples: t.trainExamples, Steps: t.step, Epoch: t.epoch + 1, Dev: dev,
		},
		Base:          t.cfg.Base,
		TrainedParams: t.setup.Trained, BaseParams: t.setup.Base,
	}
	fc.SetPlan(t.setup.Plan)
	if err := adapter.Save(path, fc, t.setup.Trainable); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// evaluate scores the model on the dev set.
func (t *Trainer) evaluate() (map[string]float64, []float32, error) {
	out, err := predict(t.model, &t.evalSt, &t.dev, t.cfg.EvalBatch, t.spec.Regression)
	if err != nil {
		return nil, nil, fmt.Errorf("train: evaluating on dev: %w", err)
	}
	if t.spec.Regression {
		return task.Score(t.spec, out, t.dev.targets), out, nil
	}
	golds := make([]float32, len(t.dev.labels))
	for i, l := range t.dev.labels {
		golds[i] = float32(l)
	}
	return task.Score(t.spec, out, golds), out, nil
}
