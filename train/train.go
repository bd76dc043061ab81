// Package train is petl's training loop: it fine-tunes a BERT model on a
// task under one of the methods of package adapter (adapters, full
// fine-tuning, top-k layers, layer norms and head) with the BERT recipe
// (AdamW, linear warm-up and decay, gradient clipping), evaluates on the dev
// set after each epoch keeping the best weights as an adapter file, and
// writes resumable checkpoints.
//
// A run is deterministic for a seed: the example order of each epoch
// depends only on (seed, epoch), the dropout masks of each step only on
// (seed, step), and the kernels give the same bits for any thread count. An
// interrupted run (context cancelled) writes a checkpoint from which Resume
// continues to exactly the result of an uninterrupted run.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/optim"
	"github.com/petl-go/petl/task"
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

	Warmup      float64           // fraction of the steps warming up; default optim.DefaultWarmup (0.1)
	AdamW       optim.AdamWConfig // default optim.DefaultAdamW()
	MaxGradNorm float64           // clipping threshold; default 1
	EvalBatch   int               // examples per evaluation batch; default 2·Batch
	Limit       int               // recorded in the adapter file: training examples were limited to the first Limit

	// Out is the adapter file written with the best dev score (see
	// adapter.Paths); "" writes none.
	Out string
	// Checkpoint is the resumable checkpoint written on interruption, at
	// the end of each epoch and every CheckpointEvery steps; "" writes
	// none. Default: Out's stem + ".ckpt.safetensors".
	Checkpoint      string
	CheckpointEvery int

	// Base describes the base model (its fingerprint goes into the adapter
	// file and the checkpoint).
	Base adapter.Base

	// Progress receives a line every LogEvery steps (default: about 50
	// lines a run) and one per evaluation; nil for none.
	Progress io.Writer
	LogEvery int
	// OnStep, if set, is called after every step with the step number
	// (from 1) and its loss.
	OnStep func(step int, loss float32)
}

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
	if c.Warmup == 0 {
		c.Warmup = optim.DefaultWarmup
	}
	if c.AdamW == (optim.AdamWConfig{}) {
		c.AdamW = optim.DefaultAdamW()
	}
	if c.MaxGradNorm == 0 {
		c.MaxGradNorm = 1
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
	case !(c.MaxGradNorm > 0):
		return c, fmt.Errorf("train: gradient clipping norm %v must be positive", c.MaxGradNorm)
	}
	return c, c.AdamW.Validate()
}

// ErrInterrupted is returned (wrapped, together with the context's error)
// by Run when its context was cancelled; the checkpoint it names resumes the
// run.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged is returned (wrapped) by Run when a loss or gradient norm is
// not finite; the error names the step.
var ErrDiverged = errors.New("training diverged")

// EpochResult is the dev evaluation after one epoch.
type EpochResult struct {
	Epoch    int                // 1-based
	Step     int                // steps done
	Scores   map[string]float64 // dev metrics (nil without a dev set)
	MeanLoss float64            // mean training loss over the epoch's steps
}

// Result summarises a run.
type Result struct {
	Losses    []float32     // the loss of every step, in order (restored across Resume)
	Epochs    []EpochResult // one per epoch done
	Best      float64       // best dev score (the task's main metric); NaN without a dev set
	BestEpoch int           // epoch of Best (0: none)
	Steps     int           // steps done
}

// Trainer trains one model on one task.
type Trainer struct {
	cfg   Config
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

	// Position and history (checkpointed).
	step, epoch, batchInEpoch int
	res                       Result
	epochLossSum              float64
	epochLossN                int

	// Reused buffers.
	st      bert.State
	evalSt  bert.State
	batch   bert.Batch
	encs    []bert.Encoding
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
func New(m *bert.Model, tok *bert.Tokenizer, trainSet, devSet *task.Dataset, cfg Config) (*Trainer, error) {
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
	spec := trainSet.Task
	nl := spec.NumLabels()
	if nl < 1 || (!spec.Regression && nl < 2) {
		return nil, fmt.Errorf("train: task %s has %d labels", spec.Name, nl)
	}
	t := &Trainer{cfg: cfg, model: m, spec: spec, numLabels: nl, lower: tok.Lowercase()}
	m.InitClassifier(nl, cfg.Seed^0x6865_6164)                                         // "head"
	if t.setup, err = adapter.Prepare(m, cfg.Plan, cfg.Seed^0x6164_6170); err != nil { // "adap"
		return nil, fmt.Errorf("train: %w", err)
	}
	if t.opt, err = optim.NewAdamW(t.setup.Trainable, cfg.AdamW); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t.train = encode(tok, trainSet, cfg.MaxLen)
	if devSet != nil {
		t.dev = encode(tok, devSet, cfg.MaxLen)
	}
	t.trainExamples = len(trainSet.Examples)
	t.batchesPerEpoch = task.NumBatches(t.trainExamples, cfg.Batch, false)
	t.totalSteps = cfg.Epochs * t.batchesPerEpoch
	if t.sched, err = optim.NewLinearWarmup(cfg.LR, max(t.totalSteps, 1), cfg.Warmup); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t.res.Best = math.NaN()
	t.encs = make([]bert.Encoding, cfg.Batch)
	t.probs = make([]float32, cfg.Batch*nl)
	t.dlogits = make([]float32, cfg.Batch*nl)
	t.labels = make([]int32, cfg.Batch)
	t.targets = make([]float32, cfg.Batch)
	t.st.Train = true
	// The loss reads only the [CLS] rows: the last layer computes (and
	// backpropagates through) those rows alone, for the same gradients up
	// to rounding.
	t.st.CLSOnly = true
	return t, nil
}

// Setup is the trainable-parameter setup (its Summary is the "trained
// parameters per task" line).
func (t *Trainer) Setup() *adapter.Setup { return t.setup }

// TotalSteps is the number of optimiser steps of the whole run.
func (t *Trainer) TotalSteps() int { return t.totalSteps }

// Config is the run's configuration with defaults filled in.
func (t *Trainer) Config() Config { return t.cfg }

// Run trains until every epoch is done, evaluating after each, and returns
// the result. When ctx is cancelled it stops after the current step,
// writes a checkpoint and returns the result so far with an error wrapping
// ErrInterrupted (and naming the checkpoint). A non-finite loss or gradient
// norm stops it with an error wrapping ErrDiverged that names the step; the
// last checkpoint written is kept, nothing newer is written.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	t.logf("%s\n", t.setup.Summary())
	t.logf("task %s: %d training examples, %d dev; %d epochs of %d steps (batch %d), max length %d\n",
		t.spec.Name, t.trainExamples, t.dev.n(), t.cfg.Epochs, t.batchesPerEpoch, t.cfg.Batch, t.cfg.MaxLen)
	logEvery := t.cfg.LogEvery
	if logEvery <= 0 {
		logEvery = max(1, t.totalSteps/50)
	}
	start, startStep := time.Now(), t.step
	winStart, winExamples, winLoss, winN := start, 0, 0.0, 0
	for t.epoch < t.cfg.Epochs {
		order := task.Permutation(t.trainExamples, t.cfg.Seed, t.epoch)
		batches := task.Batches(order, t.cfg.Batch, false)
		for t.batchInEpoch < len(batches) {
			if err := ctx.Err(); err != nil {
				return t.interrupt(err)
			}
			idx := batches[t.batchInEpoch]
			loss, err := t.trainStep(idx)
			if err != nil {
				return t.result(), t.diverged(err)
			}
			t.batchInEpoch++
			t.res.Losses = append(t.res.Losses, loss)
			t.epochLossSum += float64(loss)
			t.epochLossN++
			winExamples += len(idx)
			winLoss += float64(loss)
			winN++
			if t.cfg.OnStep != nil {
				t.cfg.OnStep(t.step, loss)
			}
			if t.step%logEvery == 0 || t.step == t.totalSteps {
				now := time.Now()
				rate := float64(winExamples) / max(now.Sub(winStart).Seconds(), 1e-9)
				perStep := now.Sub(start) / time.Duration(max(1, t.step-startStep))
				eta := perStep * time.Duration(t.totalSteps-t.step)
				t.logf("epoch %d/%d step %d/%d loss %.4f lr %.3g %.1f ex/s ETA %s\n",
					t.epoch+1, t.cfg.Epochs, t.step, t.totalSteps, winLoss/float64(winN),
					t.sched.At(t.step-1), rate, eta.Round(time.Second))
				winStart, winExamples, winLoss, winN = now, 0, 0, 0
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
	return t.result(), nil
}

// endEpoch evaluates, keeps the best, and moves to the next epoch.
func (t *Trainer) endEpoch() error {
	er := EpochResult{Epoch: t.epoch + 1, Step: t.step, MeanLoss: t.epochLossSum / float64(max(1, t.epochLossN))}
	if t.dev.n() > 0 {
		scores, _, err := t.evaluate()
		if err != nil {
			return err
		}
		er.Scores = scores
		main := scores[t.spec.Main]
		better := t.res.BestEpoch == 0 || main > t.res.Best
		t.logf("epoch %d/%d: train loss %.4f; dev %s%s\n", er.Epoch, t.cfg.Epochs, er.MeanLoss,
			task.FormatScores(t.spec, scores), map[bool]string{true: " (best)", false: ""}[better])
		if better {
			t.res.Best, t.res.BestEpoch = main, er.Epoch
			if t.cfg.Out != "" {
				if err := t.SaveAdapter(t.cfg.Out, scores); err != nil {
					return err
				}
			}
		}
	} else {
		t.logf("epoch %d/%d: train loss %.4f\n", er.Epoch, t.cfg.Epochs, er.MeanLoss)
		if t.cfg.Out != "" {
			if err := t.SaveAdapter(t.cfg.Out, nil); err != nil {
				return err
			}
		}
		t.res.BestEpoch = er.Epoch
	}
	t.res.Epochs = append(t.res.Epochs, er)
	t.epoch++
	t.batchInEpoch = 0
	t.epochLossSum, t.epochLossN = 0, 0
	return t.writeCheckpoint()
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
	t.st.RNG = *nn.NewRNG(nn.Mix64(t.cfg.Seed ^ nn.Mix64(uint64(t.step)+0x5354_4550)))
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
	t.logf("interrupted at step %d/%d: checkpoint %s (continue with --resume %s)\n", t.step, t.totalSteps, t.cfg.Checkpoint, t.cfg.Checkpoint)
	return t.result(), fmt.Errorf("%w at step %d (%w): checkpoint written to %s", ErrInterrupted, t.step, cause, t.cfg.Checkpoint)
}

func (t *Trainer) result() *Result {
	r := t.res
	r.Steps = t.step
	r.Losses = append([]float32(nil), t.res.Losses...)
	r.Epochs = append([]EpochResult(nil), t.res.Epochs...)
	return &r
}

func (t *Trainer) logf(format string, args ...any) {
	if t.cfg.Progress != nil {
		fmt.Fprintf(t.cfg.Progress, format, args...)
	}
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
