package train

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/stretchr/testify/require"
)

// TestMetricsFile checks the metrics file: one JSON line per evaluation
// with every field, agreeing with the result.
func TestMetricsFile(t *testing.T) {
	train, dev := trainDev(t)
	dir := t.TempDir()
	cfg := baseCfg(dir)
	cfg.Epochs = 3
	cfg.Metrics = filepath.Join(dir, "best.metrics.jsonl")
	r := newTrainer(t, cfg, train, dev)
	res, err := r.tr.Run(context.Background())
	require.NoError(t, err)

	raw, err := os.ReadFile(cfg.Metrics)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 3)
	for i, line := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line %d", i+1)
		for _, k := range []string{"step", "epoch", "loss", "lr", "dev", "best", "examples_per_sec", "elapsed_sec"} {
			require.Contains(t, m, k, "line %d", i+1)
		}
		require.Contains(t, m["dev"], "accuracy")
	}
	recs, err := ReadMetrics(cfg.Metrics)
	require.NoError(t, err)
	prevElapsed := 0.0
	for i, rec := range recs {
		e := res.Epochs[i]
		require.Equal(t, e.Epoch, rec.Epoch)
		require.Equal(t, e.Step, rec.Step)
		require.Equal(t, 5*(i+1), rec.Step)
		require.Equal(t, e.MeanLoss, rec.Loss)
		require.Equal(t, e.Scores, rec.Dev)
		require.Equal(t, r.tr.sched.At(rec.Step-1), rec.LR)
		require.Greater(t, rec.ExamplesPerSec, 0.0)
		require.Greater(t, rec.Elapsed, prevElapsed)
		prevElapsed = rec.Elapsed
	}
	require.True(t, recs[0].Best)
	require.True(t, recs[res.BestEpoch-1].Best)

	// Without a dev set, a record per epoch all the same, with no dev field.
	cfg.Metrics = filepath.Join(dir, "nodev.jsonl")
	r = newTrainer(t, cfg, train, nil)
	_, err = r.tr.Run(context.Background())
	require.NoError(t, err)
	raw, err = os.ReadFile(cfg.Metrics)
	require.NoError(t, err)
	require.Equal(t, 3, bytes.Count(raw, []byte("\n")))
	require.NotContains(t, string(raw), `"dev"`)

	// A metrics file that cannot be written fails the run before training.
	cfg.Metrics = filepath.Join(dir, "no", "such", "folder.jsonl")
	r = newTrainer(t, cfg, train, nil)
	res, err = r.tr.Run(context.Background())
	require.ErrorContains(t, err, "metrics file")
	require.Equal(t, 0, res.Steps)
}

// TestPatience: with a learning rate too small to change any prediction,
// the dev score never improves on epoch 1's, so patience 2 stops the run
// of 10 epochs after epoch 3; the adapter file holds epoch 1's weights and
// no checkpoint stays behind.
func TestPatience(t *testing.T) {
	train, dev := trainDev(t)
	dir := t.TempDir()
	cfg := baseCfg(dir)
	cfg.Epochs, cfg.LR, cfg.Patience = 10, 1e-12, 2
	cfg.Metrics = filepath.Join(dir, "m.jsonl")
	var log bytes.Buffer
	cfg.Progress = &log
	r := newTrainer(t, cfg, train, dev)
	res, err := r.tr.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.StoppedEarly)
	require.Len(t, res.Epochs, 3)
	require.Equal(t, 15, res.Steps)
	require.Equal(t, 1, res.BestEpoch)
	require.Contains(t, log.String(), "stopped early after epoch 3 of 10")
	fc, err := adapter.ReadConfig(cfg.Out)
	require.NoError(t, err)
	require.Equal(t, 1, fc.Training.Epoch)
	recs, err := ReadMetrics(cfg.Metrics)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	require.Equal(t, []bool{true, false, false}, []bool{recs[0].Best, recs[1].Best, recs[2].Best})
	require.NoFileExists(t, r.tr.Config().Checkpoint)

	// Without patience the same run trains all 10 epochs.
	cfg.Patience, cfg.Metrics, cfg.Progress = 0, "", nil
	r = newTrainer(t, cfg, train, dev)
	res, err = r.tr.Run(context.Background())
	require.NoError(t, err)
	require.False(t, res.StoppedEarly)
	require.Len(t, res.Epochs, 10)

	// Patience needs a dev set.
	cfg.Patience = 1
	cfg.Plan, _ = testPlan()
	_, err = New(r.model, testTokenizer(t), train, nil, cfg)
	require.ErrorContains(t, err, "patience 1 needs a dev set")
}

// TestCheckpointLeftBehind: a finished run removes its checkpoint unless
// asked to keep it, which also writes it after the last epoch; an
// interrupted run keeps it.
func TestCheckpointLeftBehind(t *testing.T) {
	train, dev := testData(t, 24, 1), testData(t, 8, 2)
	for _, keep := range []bool{false, true} {
		dir := t.TempDir()
		cfg := baseCfg(dir)
		cfg.KeepCheckpoint = keep
		r := newTrainer(t, cfg, train, dev)
		_, err := r.tr.Run(context.Background())
		require.NoError(t, err)
		ckpt := filepath.Join(dir, "best.ckpt.safetensors")
		require.Equal(t, ckpt, r.tr.Config().Checkpoint)
		require.FileExists(t, filepath.Join(dir, "best.safetensors"))
		if !keep {
			require.NoFileExists(t, ckpt)
			continue
		}
		again := newTrainer(t, cfg, train, dev)
		require.NoError(t, again.tr.Resume(ckpt))
		require.Equal(t, r.tr.step, again.tr.step, "kept checkpoint is the final one")
	}
}

// TestProgress checks the log: the header with the [UNK] shares, progress
// lines by time (none when the interval is long, after every step that
// does not end an epoch when it is tiny, or every LogEvery steps), one line
// per epoch and a summary.
func TestProgress(t *testing.T) {
	train, dev := trainDev(t) // 5 steps per epoch
	progress := regexp.MustCompile(`(?m)^epoch \d/2 step \d+/10: loss \d\.\d{4}, lr [0-9.e-]+, \d+ ex/s, elapsed \d+s(, ETA \d+s)?$`)
	epochLine := regexp.MustCompile(`(?m)^epoch \d/2 \(step \d+/10\): train loss \d\.\d{4}; dev accuracy=\d\.\d{4}( \(best\))?; \d+ ex/s, elapsed \d+s(, ETA \d+s)?$`)
	for _, tc := range []struct {
		name     string
		interval time.Duration
		every    int
		lines    int
	}{
		{"long interval", time.Hour, 0, 0},
		{"tiny interval", time.Nanosecond, 0, 8}, // every step but 5 and 10, which end epochs
		{"every 3 steps", time.Hour, 3, 3},       // steps 3, 6 and 9
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			cfg := baseCfg(t.TempDir())
			cfg.Progress, cfg.LogInterval, cfg.LogEvery = &log, tc.interval, tc.every
			r := newTrainer(t, cfg, train, dev)
			_, err := r.tr.Run(context.Background())
			require.NoError(t, err)
			out := log.String()
			t.Log("\n" + out)
			require.Len(t, progress.FindAllString(out, -1), tc.lines)
			require.Len(t, epochLine.FindAllString(out, -1), 2)
			require.Contains(t, out, "training set: ")
			require.Contains(t, out, "dev set: ")
			require.Contains(t, out, "wordpieces are [UNK]")
			require.Regexp(t, `(?m)^finished 10 steps \(2 epochs\) in [0-9.]+m?s, \d+ ex/s$`, out)
		})
	}
}

// TestOff: Off turns warm-up and clipping off, and the adapter file records
// zero for both; other negative values are errors.
func TestOff(t *testing.T) {
	train := testData(t, 16, 1)
	dir := t.TempDir()
	cfg := baseCfg(dir)
	cfg.Epochs, cfg.Warmup, cfg.MaxGradNorm = 1, Off, Off
	r := newTrainer(t, cfg, train, nil)
	require.Equal(t, 0.0, r.tr.Config().Warmup)
	require.Equal(t, 0.0, r.tr.Config().MaxGradNorm)
	require.Equal(t, cfg.LR, r.tr.sched.At(0), "no warm-up: the first step has the peak rate")
	_, err := r.tr.Run(context.Background())
	require.NoError(t, err)
	fc, err := adapter.ReadConfig(cfg.Out)
	require.NoError(t, err)
	require.Equal(t, 0.0, fc.Training.Warmup)
	require.Equal(t, 0.0, fc.Training.MaxGradNorm)

	m := r.model
	cfg.Plan, _ = testPlan()
	for _, bad := range []struct {
		cfg  Config
		want string
	}{
		{Config{Warmup: -0.5}, "warm-up fraction -0.5"},
		{Config{Warmup: 1.5}, "warm-up fraction 1.5"},
		{Config{MaxGradNorm: -2}, "gradient clipping norm -2"},
		{Config{Patience: -1}, "patience -1"},
		{Config{CheckpointEvery: -1}, "checkpoint every -1"},
		{Config{Epochs: -1}, "-1 epochs"},
		{Config{Batch: -1}, "batch size -1"},
	} {
		bad.cfg.Plan = cfg.Plan
		_, err := New(m, testTokenizer(t), train, nil, bad.cfg)
		require.ErrorContains(t, err, bad.want)
	}
}
