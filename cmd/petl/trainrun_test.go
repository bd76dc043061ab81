package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/adapter"
	"github.com/stretchr/testify/require"
)

// TestTrainFiles: petl train writes the adapter and STEM.metrics.jsonl (one
// JSON line per evaluation with every field), leaves no checkpoint behind
// unless --keep-checkpoint, takes --metrics FILE and --metrics off, and
// records --warmup, --weight-decay and --max-grad-norm in the adapter.
func TestTrainFiles(t *testing.T) {
	f := newCLIFixture(t)
	out := filepath.Join(f.dir, "run", "task")
	code, _, stderr := runCLI(t, append([]string{"train"}, f.trainArgs(out, "--adapter-size", "4", "--epochs", "2",
		"--warmup", "0", "--weight-decay", "0.05", "--max-grad-norm", "0")...)...)
	require.Equal(t, 0, code, stderr)
	require.FileExists(t, out+".safetensors")
	require.NoFileExists(t, out+".ckpt.safetensors")
	require.Contains(t, stderr, "training set: 0.00% of ")
	require.Contains(t, stderr, "finished 6 steps (2 epochs)")

	raw, err := os.ReadFile(out + ".metrics.jsonl")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 2)
	for i, line := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		for _, k := range []string{"step", "epoch", "loss", "lr", "dev", "best", "examples_per_sec", "elapsed_sec"} {
			require.Contains(t, rec, k)
		}
		require.Equal(t, float64(i+1), rec["epoch"])
		require.Equal(t, float64(3*(i+1)), rec["step"])
		require.Contains(t, rec["dev"], "accuracy")
	}

	cfg, err := adapter.ReadConfig(out)
	require.NoError(t, err)
	require.Equal(t, 0.0, cfg.Training.Warmup)
	require.InDelta(t, 0.05, cfg.Training.WeightDecay, 1e-9)
	require.Equal(t, 0.0, cfg.Training.MaxGradNorm)

	// --keep-checkpoint, --metrics FILE.
	metrics := filepath.Join(f.dir, "m.jsonl")
	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out, "--keep-checkpoint", "--metrics", metrics)...)...)
	require.Equal(t, 0, code, stderr)
	require.FileExists(t, out+".ckpt.safetensors")
	require.FileExists(t, metrics)

	// --metrics off; the old checkpoint goes too.
	require.NoError(t, os.Remove(out+".metrics.jsonl"))
	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out, "--metrics", "off")...)...)
	require.Equal(t, 0, code, stderr)
	require.NoFileExists(t, out+".metrics.jsonl")
	require.NoFileExists(t, out+".ckpt.safetensors")
}

// TestTrainPatience: with a learning rate too small to change a
// prediction the dev score never improves, so --patience 2 stops a run of
// 8 epochs after the third, and says so.
func TestTrainPatience(t *testing.T) {
	f := newCLIFixture(t)
	out := filepath.Join(f.dir, "p")
	code, _, stderr := runCLI(t, append([]string{"train"}, f.trainArgs(out, "--epochs", "8", "--lr", "1e-12", "--patience", "2")...)...)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "stopped early after epoch 3 of 8")
	raw, err := os.ReadFile(out + ".metrics.jsonl")
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(string(raw), "\n"))
	cfg, err := adapter.ReadConfig(out)
	require.NoError(t, err)
	require.Equal(t, 1, cfg.Training.Epoch, "the adapter holds the best epoch")
	require.NoFileExists(t, out+".ckpt.safetensors")
}

// TestUnknownWarning: text cased against an uncased vocabulary makes most
// wordpieces [UNK]; train and eval say how many and warn, naming the
// casing. Lower-cased (auto, for this lower-case vocabulary), none.
func TestUnknownWarning(t *testing.T) {
	f := newCLIFixture(t)
	for _, split := range []string{"train", "dev"} {
		var b strings.Builder
		b.WriteString("text\tlabel\n")
		for i := range 8 {
			fmt.Fprintf(&b, "The Movie Was %s\t%s\n", map[bool]string{true: "Good", false: "Bad"}[i%2 == 0], map[bool]string{true: "pos", false: "neg"}[i%2 == 0])
		}
		require.NoError(t, os.WriteFile(filepath.Join(f.data, split+".tsv"), []byte(b.String()), 0o644))
	}
	out := filepath.Join(f.dir, "u")
	code, _, stderr := runCLI(t, append([]string{"train"}, f.trainArgs(out, "--lowercase", "false")...)...)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "training set: 100.0% of 32 wordpieces are [UNK] (32)")
	require.Contains(t, stderr, "warning: tsv training set: 100.0% of wordpieces are [UNK]: is the casing right? the tokenizer lower-cases: false")

	code, _, stderr = runCLI(t, "eval", "--adapter", out, "--data", f.data, "--vocab", f.vocab)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "tsv dev: 100.0% of 32 wordpieces are [UNK] (32)")
	require.Contains(t, stderr, "warning: tsv dev: 100.0% of wordpieces are [UNK]")

	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out)...)...)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "training set: 0.00% of 32 wordpieces are [UNK] (0)")
	require.NotContains(t, stderr, "warning")
}
