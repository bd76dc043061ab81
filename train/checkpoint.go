package train

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/petl-go/petl/internal/trainrun"
	"github.com/petl-go/petl/optim"
	"github.com/petl-go/petl/safetensors"
)

// A resumable checkpoint is one safetensors file holding every trainable
// parameter ("param/NAME"), the optimiser's moments ("adamw/NAME.exp_avg",
// "adamw/NAME.exp_avg_sq") and, in the metadata key "petl_train_state", the
// JSON of ckptState: the position in the run (step, epoch, batch within the
// epoch), the history (losses, dev scores, best so far) and the identity of
// the run, which Resume checks. The dropout stream needs no state: each
// step reseeds it from (seed, step).

const (
	ckptFormat   = "petl-train-checkpoint"
	ckptVersion  = 1
	ckptStateKey = "petl_train_state"
	ckptParam    = "param/"
	ckptAdam     = "adamw/"
)

// runIdentity is what must agree for a checkpoint to resume a run.
type runIdentity struct {
	Base        string   `json:"base_fingerprint"`
	Task        string   `json:"task"`
	Labels      []string `json:"labels"`
	Plan        string   `json:"plan"`
	Seed        uint64   `json:"seed"`
	Epochs      int      `json:"epochs"`
	Batch       int      `json:"batch"`
	LR          float64  `json:"lr"`
	MaxLen      int      `json:"max_len"`
	Warmup      float64  `json:"warmup"`
	AdamW       string   `json:"adamw"`
	MaxGradNorm float64  `json:"max_grad_norm"`
	Examples    int      `json:"examples"`
	Trainable   int      `json:"trainable_params"`
}

type ckptState struct {
	Format       string        `json:"format"`
	Version      int           `json:"version"`
	Run          runIdentity   `json:"run"`
	Step         int           `json:"step"`
	Epoch        int           `json:"epoch"`
	BatchInEpoch int           `json:"batch_in_epoch"`
	OptSteps     int           `json:"optimizer_steps"`
	EpochLossSum float64       `json:"epoch_loss_sum"`
	EpochLossN   int           `json:"epoch_loss_n"`
	Best         float64       `json:"best"`
	BestEpoch    int           `json:"best_epoch"`
	Losses       []float32     `json:"losses"`
	Epochs       []EpochResult `json:"epochs"`
	Elapsed      float64       `json:"elapsed_seconds,omitempty"` // training time so far (for the metrics file)
}

func (t *Trainer) identity() runIdentity {
	return runIdentity{
		Base: t.cfg.Base.Fingerprint, Task: t.spec.Key, Labels: t.spec.Labels,
		Plan: fmt.Sprintf("%+v", t.setup.Plan), Seed: t.cfg.Seed, Epochs: t.cfg.Epochs,
		Batch: t.cfg.Batch, LR: t.cfg.LR, MaxLen: t.cfg.MaxLen, Warmup: t.cfg.Warmup,
		AdamW: fmt.Sprintf("%+v", t.cfg.AdamW), MaxGradNorm: t.cfg.MaxGradNorm,
		Examples: t.trainExamples, Trainable: t.setup.Trained,
	}
}

// writeCheckpoint writes the run's state to cfg.Checkpoint atomically.
func (t *Trainer) writeCheckpoint() error {
	t.stepsSinceCkpt = 0
	if t.cfg.Checkpoint == "" {
		return nil
	}
	st := ckptState{
		Format: ckptFormat, Version: ckptVersion, Run: t.identity(),
		Step: t.step, Epoch: t.epoch, BatchInEpoch: t.batchInEpoch, OptSteps: t.opt.Steps(),
		EpochLossSum: t.epochLossSum, EpochLossN: t.epochLossN,
		BestEpoch: t.res.BestEpoch, Losses: t.res.Losses, Epochs: t.res.Epochs,
		Elapsed: t.elapsed(time.Now()).Seconds(),
	}
	if t.res.BestEpoch > 0 && !math.IsNaN(t.res.Best) {
		st.Best = t.res.Best
	}
	meta, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", t.cfg.Checkpoint, err)
	}
	var ts []safetensors.Tensor
	for _, p := range t.setup.Trainable {
		ts = append(ts, safetensors.F32Tensor(ckptParam+p.Name, slices.Clone(p.Shape), p.W))
	}
	for _, o := range t.opt.State().Tensors {
		ts = append(ts, safetensors.F32Tensor(ckptAdam+o.Name, o.Shape, o.Data))
	}
	if err := safetensors.WriteFile(t.cfg.Checkpoint, ts, map[string]string{ckptStateKey: string(meta)}); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	t.hasCheckpoint, t.lastCheckpointPath, t.ckptStep = true, t.cfg.Checkpoint, t.step
	return nil
}

func (t *Trainer) lastCheckpointStep() int { return t.ckptStep }

// Resume loads a checkpoint written by a run with the same settings (base
// model, task, method, seed, hyperparameters, data) into t, which must be
// freshly made by New; Run then continues where that run stopped and ends
// with the weights, losses and scores an uninterrupted run would have.
func (t *Trainer) Resume(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("train: resuming: %w", err)
	}
	defer f.Close()
	raw, ok := f.Metadata()[ckptStateKey]
	if !ok {
		return fmt.Errorf("train: %s is not a petl training checkpoint (no %q metadata)", path, ckptStateKey)
	}
	var st ckptState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return fmt.Errorf("train: %s: reading its training state: %w", path, err)
	}
	if st.Format != ckptFormat || st.Version != ckptVersion {
		return fmt.Errorf("train: %s has format %q version %d, want %q version %d", path, st.Format, st.Version, ckptFormat, ckptVersion)
	}
	if diff := trainrun.IdentityDiff(st.Run, t.identity()); diff != "" {
		return fmt.Errorf("train: %s was written by a different run: %s", path, diff)
	}
	if st.Step > t.totalSteps || st.Epoch > t.cfg.Epochs || st.BatchInEpoch > t.batchesPerEpoch || len(st.Losses) != st.Step {
		return fmt.Errorf("train: %s: position step %d epoch %d batch %d (%d losses) is outside this run of %d steps", path, st.Step, st.Epoch, st.BatchInEpoch, len(st.Losses), t.totalSteps)
	}

	// Read everything before changing anything.
	weights := make([][]float32, len(t.setup.Trainable))
	for i, p := range t.setup.Trainable {
		v, err := f.Float32(ckptParam + p.Name)
		if err != nil {
			return fmt.Errorf("train: %s: %w", path, err)
		}
		if info, _ := f.Info(ckptParam + p.Name); !slices.Equal(info.Shape, p.Shape) {
			return fmt.Errorf("train: %s: %q has shape %v, the parameter %v", path, p.Name, info.Shape, p.Shape)
		}
		weights[i] = v
	}
	os := optim.State{Step: st.OptSteps}
	for _, name := range f.Names() {
		if n, ok := strings.CutPrefix(name, ckptAdam); ok {
			v, err := f.Float32(name)
			if err != nil {
				return fmt.Errorf("train: %s: %w", path, err)
			}
			info, _ := f.Info(name)
			os.Tensors = append(os.Tensors, optim.Tensor{Name: n, Shape: info.Shape, Data: v})
		}
	}
	if err := t.opt.LoadState(os); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	for i, p := range t.setup.Trainable {
		copy(p.W, weights[i])
	}
	t.step, t.epoch, t.batchInEpoch = st.Step, st.Epoch, st.BatchInEpoch
	t.epochLossSum, t.epochLossN = st.EpochLossSum, st.EpochLossN
	t.res.Losses = st.Losses
	t.res.Epochs = st.Epochs
	t.res.BestEpoch = st.BestEpoch
	t.res.Best = math.NaN()
	if st.BestEpoch > 0 {
		t.res.Best = st.Best
	}
	t.hasCheckpoint, t.lastCheckpointPath, t.ckptStep = true, path, st.Step
	t.resumed = true
	t.elapsedBefore = time.Duration(st.Elapsed * float64(time.Second))
	t.log.Printf("resumed from %s at step %d/%d (epoch %d, batch %d)\n", path, t.step, t.totalSteps, t.epoch+1, t.batchInEpoch)
	return nil
}
