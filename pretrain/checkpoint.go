package pretrain

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/internal/trainrun"
	"github.com/petl-go/petl/optim"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/wordpiece"
)

// A checkpoint is a folder OUT/checkpoint-<step> in the Hugging Face layout
// of BertForPreTraining without next-sentence prediction: config.json,
// vocab.txt and model.safetensors ("bert."-prefixed encoder tensors and
// cls.predictions.*, the decoder weight tied to the word embeddings and not
// stored), plus what resuming needs: optimizer.safetensors (AdamW moments
// named PARAM.exp_avg / PARAM.exp_avg_sq) and trainer_state.json. It is
// written as a hidden temporary folder and renamed into place, so a
// checkpoint folder is always complete.

const (
	ckptPrefix     = "checkpoint-"
	optimizerFile  = "optimizer.safetensors"
	stateFile      = "trainer_state.json"
	vocabFile      = "vocab.txt"
	stateFormat    = "petl-pretrain-state"
	stateVersion   = 1
	prefixedModel  = "bert."
	headNamePrefix = "cls."
)

// identity is what must agree between a checkpoint and the run resuming it.
type identity struct {
	Model       bert.Config `json:"model"`
	Lowercase   bool        `json:"lowercase"`
	Steps       int         `json:"steps"`
	Batch       int         `json:"batch"`
	MaxLen      int         `json:"max_len"`
	LR          float64     `json:"lr"`
	Warmup      float64     `json:"warmup"`
	AdamW       string      `json:"adamw"`
	MaxGradNorm float64     `json:"max_grad_norm"`
	Seed        uint64      `json:"seed"`
	Mask        MaskOptions `json:"mask"`
	TwoSegments float64     `json:"two_segments"`
	SOP         bool        `json:"sop,omitempty"`
	Init        string      `json:"init,omitempty"`
	HeldOut     float64     `json:"heldout"`
	EvalSeqs    int         `json:"eval_sequences"`
	TrainSeqs   int         `json:"train_sequences"`
	TrainTokens int         `json:"train_tokens"`
}

type trainerState struct {
	Format   string   `json:"format"`
	Version  int      `json:"version"`
	Run      identity `json:"run"`
	Step     int      `json:"step"`
	OptSteps int      `json:"optimizer_steps"`
	Seconds  float64  `json:"train_seconds"`
	Unigram  float64  `json:"unigram_baseline_loss"`
	Evals    []Eval   `json:"evals"`
	Written  string   `json:"written"`
	NoNSP    string   `json:"note"`
}

func (t *Trainer) identity() identity {
	c := &t.cfg
	return identity{
		Model: c.Model, Lowercase: c.Lowercase, Steps: c.Steps, Batch: c.Batch, MaxLen: c.MaxLen,
		LR: c.LR, Warmup: c.Warmup, AdamW: fmt.Sprintf("%+v", c.AdamW), MaxGradNorm: c.MaxGradNorm,
		Seed: c.Seed, Mask: c.Mask, TwoSegments: c.TwoSegments, SOP: c.SOP, Init: c.Init, HeldOut: c.HeldOut, EvalSeqs: c.EvalSeqs,
		TrainSeqs: t.train.Len(), TrainTokens: t.train.Tokens(),
	}
}

// sopHead is the checkpoint name of the sentence-order head, the model's
// two-label classifier in pretraining: BERT's next-sentence head has its
// shape.
const sopHead = "cls.seq_relationship."

// checkpointName is the name under which a model parameter is stored.
func checkpointName(name string) string {
	if rest, ok := strings.CutPrefix(name, "classifier."); ok {
		return sopHead + rest
	}
	return prefixedModel + name
}

// ModelTensors returns the model's and head's weights under their Hugging
// Face BertForPreTraining names (the pooler included, the tied decoder
// weight left out; a two-label classifier, the sentence-order head, as
// cls.seq_relationship).
func ModelTensors(m *bert.Model, h *bert.MLMHead) []safetensors.Tensor {
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.F32Tensor(checkpointName(p.Name), p.Shape, p.W))
	}
	for _, p := range h.Params() {
		ts = append(ts, safetensors.F32Tensor(p.Name, p.Shape, p.W))
	}
	return ts
}

// checkpoint writes OUT/checkpoint-<step> and prunes old ones.
func (t *Trainer) checkpoint(start time.Time, tokens int, stepTime time.Duration) error {
	if t.cfg.Out == "" {
		return nil
	}
	t.finish(start, tokens, stepTime)
	name := fmt.Sprintf("%s%d", ckptPrefix, t.step)
	dir := filepath.Join(t.cfg.Out, name)
	tmp := filepath.Join(t.cfg.Out, "."+name+".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("pretrain: checkpoint: %w", err)
	}
	if err := t.writeCheckpointDir(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.RemoveAll(dir); err != nil { // a checkpoint of the same step (an interrupted run's)
		return fmt.Errorf("pretrain: checkpoint: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("pretrain: checkpoint: %w", err)
	}
	safefile.SyncDir(t.cfg.Out)
	keep := t.cfg.Keep
	if keep <= 0 {
		keep = 2
	}
	steps, _ := listCheckpoints(t.cfg.Out)
	for i := 0; i+keep < len(steps); i++ {
		os.RemoveAll(filepath.Join(t.cfg.Out, fmt.Sprintf("%s%d", ckptPrefix, steps[i])))
	}
	return nil
}

func (t *Trainer) writeCheckpointDir(dir string) error {
	cfg := t.cfg.Model
	cfg.ModelType = "bert"
	if err := bert.WriteCheckpoint(dir, cfg, ModelTensors(t.model, t.head)); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	if err := copyFile(filepath.Join(dir, vocabFile), t.cfg.VocabPath); err != nil {
		return fmt.Errorf("pretrain: checkpoint vocabulary: %w", err)
	}
	if err := wordpiece.WriteDoLowerCase(dir, t.cfg.Lowercase); err != nil {
		return fmt.Errorf("pretrain: checkpoint tokenizer settings: %w", err)
	}
	ost := t.opt.State()
	var ts []safetensors.Tensor
	for _, x := range ost.Tensors {
		ts = append(ts, safetensors.F32Tensor(x.Name, x.Shape, x.Data))
	}
	if err := safetensors.WriteFile(filepath.Join(dir, optimizerFile), ts, map[string]string{"step": strconv.Itoa(ost.Step)}); err != nil {
		return fmt.Errorf("pretrain: checkpoint optimizer state: %w", err)
	}
	st := trainerState{
		Format: stateFormat, Version: stateVersion, Run: t.identity(), Step: t.step, OptSteps: ost.Step,
		Seconds: t.res.Seconds, Unigram: t.res.Unigram, Evals: t.res.Evals,
		Written: time.Now().UTC().Format(time.RFC3339),
		NoNSP:   "masked-language-model pretraining only: no next-sentence prediction head (cls.seq_relationship) and an untrained pooler",
	}
	if t.cfg.SOP {
		st.NoNSP = "masked-language-model and sentence-order prediction (cls.seq_relationship: label 1 = the two segments are swapped); no next-sentence prediction"
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("pretrain: checkpoint state: %w", err)
	}
	if err := safefile.WriteAtomic(filepath.Join(dir, stateFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("pretrain: checkpoint state: %w", err)
	}
	return nil
}

// LatestCheckpoint returns the newest complete checkpoint folder in out.
func LatestCheckpoint(out string) (string, error) {
	steps, err := listCheckpoints(out)
	if err != nil {
		return "", err
	}
	if len(steps) == 0 {
		return "", fmt.Errorf("pretrain: no %sN folder in %s", ckptPrefix, out)
	}
	return filepath.Join(out, fmt.Sprintf("%s%d", ckptPrefix, steps[len(steps)-1])), nil
}

// listCheckpoints returns the steps of the complete checkpoints in out,
// in increasing order.
func listCheckpoints(out string) ([]int, error) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	var steps []int
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), ckptPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(out, e.Name(), stateFile)); err == nil {
			steps = append(steps, n)
		}
	}
	slices.Sort(steps)
	return steps, nil
}

// resume loads the newest checkpoint of cfg.Out into the trainer.
func (t *Trainer) resume() error {
	dir, err := LatestCheckpoint(t.cfg.Out)
	if err != nil {
		return fmt.Errorf("pretrain: --resume: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return fmt.Errorf("pretrain: --resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("pretrain: --resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Format != stateFormat || st.Version != stateVersion {
		return fmt.Errorf("pretrain: --resume: %s is not a petl pretraining state (format %q version %d)", dir, st.Format, st.Version)
	}
	if diff := trainrun.IdentityDiff(st.Run, t.identity()); diff != "" {
		return fmt.Errorf("pretrain: --resume: %s was written by a different run: %s", dir, diff)
	}
	if err := t.loadWeights(dir, true); err != nil {
		return fmt.Errorf("pretrain: --resume: %w", err)
	}
	f, err := safetensors.Open(filepath.Join(dir, optimizerFile))
	if err != nil {
		return fmt.Errorf("pretrain: --resume: %w", err)
	}
	defer f.Close()
	ost := optim.State{Step: st.OptSteps}
	for _, name := range f.Names() {
		v, err := f.Float32(name)
		if err != nil {
			return fmt.Errorf("pretrain: --resume: %w", err)
		}
		info, _ := f.Info(name)
		ost.Tensors = append(ost.Tensors, optim.Tensor{Name: name, Shape: info.Shape, Data: v})
	}
	if err := t.opt.LoadState(ost); err != nil {
		return fmt.Errorf("pretrain: --resume: %s: %w", dir, err)
	}
	t.step = st.Step
	t.elapsed = st.Seconds
	t.res.Unigram = st.Unigram
	t.res.Evals = append([]Eval(nil), st.Evals...)
	t.log.Printf("resumed from %s at step %d/%d\n", dir, t.step, t.cfg.Steps)
	return nil
}

// loadWeights copies the weights of the checkpoint in dir into the model
// and the MLM head. The sentence-order head is read when the checkpoint has
// it; when it has not, it keeps its initial weights, unless all is set
// (resuming), when every tensor must be there.
func (t *Trainer) loadWeights(dir string, all bool) error {
	ck, err := bert.OpenCheckpoint(dir)
	if err != nil {
		return err
	}
	defer ck.Close()
	hasSOP := ck.Has(sopHead + "weight")
	if t.model.Classifier != nil && !hasSOP && !all {
		t.log.Printf("%s has no sentence-order head (%s*): it starts from random weights\n", dir, sopHead)
	}
	ps := append(t.model.Params(), t.head.Params()...)
	for _, p := range ps {
		name := p.Name
		if strings.HasPrefix(name, "classifier.") {
			if !hasSOP && !all {
				continue
			}
			name = checkpointName(name)
		}
		w, err := ck.Tensor(name, p.Shape...)
		if err != nil {
			return err
		}
		copy(p.W, w)
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return safefile.WriteAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
