package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/require"
)

// The tests train a tiny randomly initialised BERT (V 32, C 16, L 2, NH 2,
// I 32) on a synthetic sentiment task of a few dozen short sentences: a
// sentence is positive when it holds more positive than negative words.

var testWords = []string{"good", "great", "fine", "nice", "bad", "awful", "poor", "dull", "the", "movie", "film", "was", "plot", "very", "a", "story"}

func testTokenizer(t testing.TB) *wordpiece.Tokenizer {
	toks := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, testWords...)
	v, err := wordpiece.NewVocab(toks)
	require.NoError(t, err)
	return wordpiece.NewTokenizer(v, true)
}

// testConfig is the tiny model. Its weights are drawn with std 0.3 rather
// than BERT's 0.02 so that a random frozen encoder passes enough of the
// words to the [CLS] row for adapters and layer norms to learn the task in
// a few dozen steps.
func testConfig(dropout float32) bert.Config {
	return bert.Config{
		VocabSize: 21, HiddenSize: 16, NumLayers: 2, NumHeads: 2, IntermediateSize: 32,
		MaxPositions: 32, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12,
		HiddenDropout: dropout, AttentionDropout: dropout, InitializerRange: 0.3,
	}
}

// testData makes n labelled SST-2 style examples from seed.
func testData(t testing.TB, n int, seed uint64) *task.Dataset {
	spec, err := task.Lookup("sst2")
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("sentence\tlabel\n")
	perm := task.Permutation(1<<16, seed, 0)
	k := 0
	next := func(m int) int { k++; return perm[k] % m }
	for i := 0; i < n; i++ {
		words := []string{"the", testWords[9+next(2)], "was"}
		score := 0
		for j := 0; j < 1+next(3); j++ {
			w := next(8)
			words = append(words, testWords[w])
			if w < 4 {
				score++
			} else {
				score--
			}
		}
		if score == 0 {
			words = append(words, "great")
			score++
		}
		label := 0
		if score > 0 {
			label = 1
		}
		fmt.Fprintf(&b, "%s\t%d\n", strings.Join(words, " "), label)
	}
	ds, err := task.Read(spec, strings.NewReader(b.String()), "synthetic.tsv", task.Options{})
	require.NoError(t, err)
	return ds
}

// testPlan is the method the tests train with: Houlsby adapters of size
// 4, with dropout 0.1 in the model.
func testPlan() (adapter.Plan, float32) {
	return adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 4}}, 0.1
}

type run struct {
	tr    *Trainer
	model *bert.Model
	res   *Result
	err   error
}

// trainDev is the training set (40 examples) and dev set (16) most tests
// run on.
func trainDev(t testing.TB) (train, dev *task.Dataset) {
	return testData(t, 40, 1), testData(t, 16, 2)
}

func newTrainer(t testing.TB, cfg Config, train, dev *task.Dataset) *run {
	plan, dropout := testPlan()
	if cfg.Plan.Method == "" {
		cfg.Plan = plan
	}
	m, err := bert.NewRandom(testConfig(dropout), 0, 1)
	require.NoError(t, err)
	cfg.Base = adapter.Base{Fingerprint: m.Fingerprint(), Name: "test-tiny", Config: m.Config}
	tr, err := New(m, testTokenizer(t), train, dev, cfg)
	require.NoError(t, err)
	return &run{tr: tr, model: m}
}

func baseCfg(dir string) Config {
	return Config{Epochs: 2, LR: 5e-3, Batch: 8, MaxLen: 12, Seed: 42, Out: filepath.Join(dir, "best")}
}

func weights(tr *Trainer) [][]float32 {
	var out [][]float32
	for _, p := range tr.setup.Trainable {
		out = append(out, append([]float32(nil), p.W...))
	}
	return out
}

// TestDeterministic checks that two runs with one seed give bit-identical
// losses and weights, and that another seed gives other losses.
func TestDeterministic(t *testing.T) {
	train, dev := trainDev(t)
	var losses [][]float32
	var ws [][][]float32
	for i, seed := range []uint64{42, 42, 43} {
		cfg := baseCfg(t.TempDir())
		cfg.Seed = seed
		r := newTrainer(t, cfg, train, dev)
		res, err := r.tr.Run(context.Background())
		require.NoError(t, err, "run %d", i)
		require.Len(t, res.Losses, 2*5)
		require.Equal(t, 10, res.Steps)
		require.Len(t, res.Epochs, 2)
		losses = append(losses, res.Losses)
		ws = append(ws, weights(r.tr))
	}
	require.Equal(t, losses[0], losses[1], "same seed, same losses")
	require.Equal(t, ws[0], ws[1], "same seed, same weights")
	require.NotEqual(t, losses[0], losses[2], "another seed, other losses")
}

// TestResume interrupts a run in the middle of an epoch (and another at an
// epoch boundary), resumes it from its checkpoint and checks that the
// result equals an uninterrupted run's: losses, dev scores, best epoch,
// final weights, the best adapter file and the metrics file (but for its
// timings); the finished run leaves no checkpoint.
func TestResume(t *testing.T) {
	train, dev := testData(t, 36, 3), testData(t, 12, 4)
	dir := t.TempDir()
	cfg := baseCfg(filepath.Join(dir))
	cfg.Epochs = 3
	cfg.Out = filepath.Join(dir, "ref")
	cfg.Metrics = filepath.Join(dir, "ref.metrics.jsonl")
	ref := newTrainer(t, cfg, train, dev)
	refRes, err := ref.tr.Run(context.Background())
	require.NoError(t, err)
	refAdapter, err := os.ReadFile(filepath.Join(dir, "ref.safetensors"))
	require.NoError(t, err)
	refMetrics := untimed(t, cfg.Metrics)
	require.Len(t, refMetrics, 3)

	for _, stopAt := range []int{3, 5, 7} { // 5 steps per epoch: mid-epoch, boundary, mid-epoch
		t.Run(fmt.Sprint(stopAt), func(t *testing.T) {
			sub := t.TempDir()
			cfg.Out = filepath.Join(sub, "ref") // same file name: the JSON records it
			cfg.Metrics = filepath.Join(sub, "ref.metrics.jsonl")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg.OnStep = func(step int, _ float32) {
				if step == stopAt {
					cancel()
				}
			}
			a := newTrainer(t, cfg, train, dev)
			res, err := a.tr.Run(ctx)
			require.ErrorIs(t, err, ErrInterrupted)
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, stopAt, res.Steps)
			require.Equal(t, refRes.Losses[:stopAt], res.Losses)
			ckpt := a.tr.Config().Checkpoint
			require.FileExists(t, ckpt)
			require.Contains(t, err.Error(), ckpt)

			// A record the checkpoint does not know of (written after it)
			// is dropped on resuming.
			f, err := os.OpenFile(cfg.Metrics, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString(`{"step":99,"epoch":9}` + "\n")
			require.NoError(t, err)
			require.NoError(t, f.Close())

			cfg.OnStep = nil
			b := newTrainer(t, cfg, train, dev)
			require.NoError(t, b.tr.Resume(ckpt))
			res, err = b.tr.Run(context.Background())
			require.NoError(t, err)
			require.NoFileExists(t, ckpt)
			require.Equal(t, refMetrics, untimed(t, cfg.Metrics))
			require.Equal(t, refRes.Losses, res.Losses)
			require.Equal(t, refRes.Epochs, res.Epochs)
			require.Equal(t, refRes.BestEpoch, res.BestEpoch)
			require.Equal(t, weights(ref.tr), weights(b.tr))
			got, err := os.ReadFile(filepath.Join(sub, "ref.safetensors"))
			require.NoError(t, err)
			require.Equal(t, refAdapter, got, "best adapter file")
		})
	}
}

// untimed reads a metrics file without its timings.
func untimed(t *testing.T, path string) []MetricsRecord {
	t.Helper()
	recs, err := ReadMetrics(path)
	require.NoError(t, err)
	for i := range recs {
		require.Greater(t, recs[i].ExamplesPerSec, 0.0)
		require.Greater(t, recs[i].Elapsed, 0.0)
		recs[i].ExamplesPerSec, recs[i].Elapsed = 0, 0
	}
	return recs
}

// TestResumeOtherRun checks that a checkpoint does not resume a run with
// other settings, and that the error says which.
func TestResumeOtherRun(t *testing.T) {
	train, dev := testData(t, 16, 3), testData(t, 8, 4)
	cfg := baseCfg(t.TempDir())
	cfg.Epochs = 1
	cfg.KeepCheckpoint = true
	a := newTrainer(t, cfg, train, dev)
	_, err := a.tr.Run(context.Background())
	require.NoError(t, err)
	cfg.LR = 1e-2
	b := newTrainer(t, cfg, train, dev)
	err = b.tr.Resume(a.tr.Config().Checkpoint)
	require.ErrorContains(t, err, "lr is 0.005 there, 0.01 here")
	require.Error(t, b.tr.Resume(filepath.Join(t.TempDir(), "none")))
}

// TestDiverged poisons a weight with NaN after step 3: the next step must
// fail naming step 4, and the checkpoint of step 2 must be left as it was.
func TestDiverged(t *testing.T) {
	train := testData(t, 48, 5)
	cfg := baseCfg(t.TempDir())
	cfg.CheckpointEvery = 2
	var r *run
	cfg.OnStep = func(step int, _ float32) {
		if step == 3 {
			r.tr.setup.Trainable[0].W[1] = float32(math.NaN())
		}
	}
	r = newTrainer(t, cfg, train, nil)
	res, err := r.tr.Run(context.Background())
	require.ErrorIs(t, err, ErrDiverged)
	require.ErrorContains(t, err, "step 4")
	require.ErrorContains(t, err, r.tr.Config().Checkpoint)
	require.Equal(t, 3, res.Steps)

	// The checkpoint holds step 2 and resumes.
	cfg.OnStep = nil
	again := newTrainer(t, cfg, train, nil)
	require.NoError(t, again.tr.Resume(r.tr.Config().Checkpoint))
	require.Equal(t, 2, again.tr.step)
	require.Equal(t, res.Losses[:2], again.tr.res.Losses)
}

// TestBestAdapterReloads checks that the adapter file written for the best
// epoch, put on a fresh base, reproduces that epoch's dev scores, and that
// the whole dev pass predicts the same classes as the trainer did.
func TestBestAdapterReloads(t *testing.T) {
	train, dev := testData(t, 40, 6), testData(t, 16, 7)
	cfg := baseCfg(t.TempDir())
	cfg.Epochs = 1
	r := newTrainer(t, cfg, train, dev)
	res, err := r.tr.Run(context.Background())
	require.NoError(t, err)
	_, devPreds, err := r.tr.evaluate()
	require.NoError(t, err)

	f, err := adapter.Read(cfg.Out)
	require.NoError(t, err)
	require.Equal(t, res.Epochs[0].Scores, f.Config.Training.Dev)
	_, dropout := testPlan()
	fresh, err := bert.NewRandom(testConfig(dropout), 0, 1)
	require.NoError(t, err)
	_, err = f.Apply(fresh, fresh.Fingerprint(), false)
	require.NoError(t, err)
	scores, preds, err := Evaluate(fresh, testTokenizer(t), dev, f.Config.MaxLen, 5)
	require.NoError(t, err)
	require.Equal(t, res.Epochs[0].Scores, scores)
	require.Equal(t, devPreds, preds)
}

// TestStepAllocations checks that a steady-state training step allocates
// (almost) nothing: the arena, batch and loss buffers are reused.
func TestStepAllocations(t *testing.T) {
	train := testData(t, 24, 8)
	cfg := baseCfg("")
	cfg.Out = ""
	r := newTrainer(t, cfg, train, nil)
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	for i := 0; i < 3; i++ {
		_, err := r.tr.trainStep(idx)
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := r.tr.trainStep(idx); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations per step: %v", allocs)
	require.LessOrEqual(t, allocs, 2.0)
}

func TestNewErrors(t *testing.T) {
	train := testData(t, 8, 1)
	m, err := bert.NewRandom(testConfig(0), 0, 1)
	require.NoError(t, err)
	tok := testTokenizer(t)
	_, err = New(m, tok, nil, nil, Config{Plan: adapter.Plan{Method: adapter.MethodTopK}})
	require.ErrorContains(t, err, "no training examples")
	_, err = New(m, tok, train, nil, Config{Plan: adapter.Plan{Method: adapter.MethodTopK}, MaxLen: 2})
	require.ErrorContains(t, err, "max length")
	_, err = New(m, tok, train, nil, Config{Plan: adapter.Plan{Method: adapter.MethodTopK}, LR: math.Inf(1)})
	require.ErrorContains(t, err, "learning rate")
	unl := *train
	unl.Labelled = false
	_, err = New(m, tok, &unl, nil, Config{Plan: adapter.Plan{Method: adapter.MethodTopK}})
	require.ErrorContains(t, err, "labelled")
	require.False(t, errors.Is(err, ErrDiverged))
}

// TestLossFalls trains each method for a few epochs on the synthetic task
// and checks that the mean training loss of the last epoch is below the
// first's, and that only the method's parameters moved.
func TestLossFalls(t *testing.T) {
	train := testData(t, 48, 9)
	for _, plan := range []adapter.Plan{
		{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 8}},
		{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 8, Placement: adapter.Pfeiffer, Activation: adapter.ReLU}},
		{Method: adapter.MethodFull},
		{Method: adapter.MethodTopK, TopK: 1},
		{Method: adapter.MethodLNHead},
	} {
		t.Run(fmt.Sprintf("%s_%s", plan.Method, plan.Adapter.Placement), func(t *testing.T) {
			cfg := baseCfg("")
			cfg.Out, cfg.Plan, cfg.Epochs, cfg.LR = "", plan, 30, 3e-2
			if plan.Method == adapter.MethodFull || plan.Method == adapter.MethodTopK {
				cfg.LR = 1e-2
			}
			r := newTrainer(t, cfg, train, nil)
			before := map[string][]float32{}
			for _, p := range r.model.Params() {
				before[p.Name] = append([]float32(nil), p.W...)
			}
			res, err := r.tr.Run(context.Background())
			require.NoError(t, err)
			first, last := res.Epochs[0].MeanLoss, res.Epochs[len(res.Epochs)-1].MeanLoss
			t.Logf("mean loss: first epoch %.4f, last %.4f", first, last)
			require.Less(t, last, 0.9*first)
			for _, p := range r.model.Params() {
				if p.Name == "classifier.weight" || p.Name == "classifier.bias" {
					continue
				}
				require.Equal(t, p.Trainable(), !slices.Equal(before[p.Name], p.W), "%s: trainable %v", p.Name, p.Trainable())
			}
		})
	}
}
