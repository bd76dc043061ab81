package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/stretchr/testify/require"
)

// TestPretrainCommand runs petl pretrain on a tiny corpus: it writes a
// checkpoint that loads as a BERT (with the MLM head) and a result summary,
// resumes when asked, and explains a missing corpus.
func TestPretrainCommand(t *testing.T) {
	f := newCLIFixture(t)
	var b strings.Builder
	for d := 0; d < 120; d++ {
		for l := 0; l < 3; l++ {
			fmt.Fprintf(&b, "the %s was %s %s\n", cliWords[7+(d+l)%3], cliWords[d%10], cliWords[(d/10+l)%10])
		}
		b.WriteString("\n")
	}
	corpus := filepath.Join(f.dir, "corpus.txt")
	require.NoError(t, os.WriteFile(corpus, []byte(b.String()), 0o644))
	out := filepath.Join(f.dir, "pt")
	args := []string{"--corpus", corpus, "--out", out, "--vocab", f.vocab, "--layers", "1", "--hidden", "16",
		"--heads", "2", "--intermediate", "32", "--steps", "6", "--batch", "4", "--max-len", "16",
		"--eval-every", "3", "--eval-seqs", "8", "--heldout", "0.1", "--threads", "1"}
	require.NoError(t, runPretrain(context.Background(), args))

	dir := filepath.Join(out, "checkpoint-6")
	ck, err := bert.OpenCheckpoint(dir)
	require.NoError(t, err)
	defer ck.Close()
	require.Equal(t, 16, ck.Config().HiddenSize)
	m, err := bert.New(ck.Config(), ck)
	require.NoError(t, err)
	_, err = bert.LoadMLMHead(m, ck)
	require.NoError(t, err)
	vocab, err := os.ReadFile(filepath.Join(dir, "vocab.txt"))
	require.NoError(t, err)
	orig, _ := os.ReadFile(f.vocab)
	require.Equal(t, orig, vocab)

	var res struct {
		Steps int `json:"steps"`
		Evals []struct {
			Step int     `json:"step"`
			Loss float64 `json:"mlm_loss"`
		} `json:"evals"`
	}
	data, err := os.ReadFile(filepath.Join(out, "pretrain_result.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &res))
	require.Equal(t, 6, res.Steps)
	require.Len(t, res.Evals, 3) // steps 0, 3, 6

	// --init from that checkpoint, run from another folder: the vocabulary
	// is the checkpoint's own unless --vocab says otherwise.
	t.Chdir(t.TempDir())
	initArgs := []string{"--corpus", corpus, "--out", filepath.Join(f.dir, "pt2"), "--init", dir, "--layers", "1",
		"--hidden", "16", "--heads", "2", "--intermediate", "32", "--steps", "2", "--batch", "4", "--max-len", "16",
		"--eval-every", "2", "--eval-seqs", "8", "--heldout", "0.1", "--threads", "1"}
	require.NoError(t, runPretrain(context.Background(), initArgs))
	got, err := os.ReadFile(filepath.Join(f.dir, "pt2", "checkpoint-2", "vocab.txt"))
	require.NoError(t, err)
	require.Equal(t, orig, got)
	err = runPretrain(context.Background(), append(initArgs, "--vocab", filepath.Join(f.dir, "none.txt")))
	require.ErrorContains(t, err, "none.txt")

	// --eval-only measures a checkpoint and writes nothing.
	evalArgs := []string{"--corpus", corpus, "--init", dir, "--eval-only", "--eval-seqs", "8", "--heldout", "0.1", "--threads", "1"}
	require.NoError(t, runPretrain(context.Background(), evalArgs))
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	require.Empty(t, entries)
	require.ErrorContains(t, runPretrain(context.Background(), append(evalArgs, "--out", "x")), "leave out --out")
	require.ErrorContains(t, runPretrain(context.Background(), []string{"--corpus", corpus, "--eval-only"}), "--init DIR")

	// Resuming a finished run does nothing more; a longer run is another run.
	require.NoError(t, runPretrain(context.Background(), append(args, "--resume")))
	err = runPretrain(context.Background(), append(args, "--resume", "--steps", "8"))
	require.ErrorContains(t, err, "steps is 6 there, 8 here")

	t.Setenv(EnvCorpus, filepath.Join(f.dir, "nowhere"))
	t.Setenv("HOME", f.dir)
	err = runPretrain(context.Background(), []string{"--out", out, "--vocab", f.vocab})
	require.ErrorContains(t, err, "scripts/corpus/build.sh")
	require.ErrorContains(t, runPretrain(context.Background(), []string{"--corpus", corpus}), "--out")
}
