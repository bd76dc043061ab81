package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoPath is a path inside the repository, from this package's folder.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// TestPredictFormats: the shipped SST-2 adapter on the shipped model,
// found through the adapter's record (no --model), predicts as jsonl with
// probabilities and as tsv with a probability column per class.
func TestPredictFormats(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("a gripping, funny and moving film\n\ndull, tedious and far too long\n"), 0o644))
	adapterPath := repoPath("models", "adapters", "sst2")

	jsonl := filepath.Join(dir, "out.jsonl")
	require.NoError(t, runPredict(context.Background(), []string{"--adapter", adapterPath, "--input", in, "--lines", "--format", "jsonl", "--out", jsonl, "--pack", "off"}))
	data, err := os.ReadFile(jsonl)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	wantLabel := []string{"1", "0"}
	for i, l := range lines {
		var r jsonlRecord
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		assert.Equal(t, wantLabel[i], r.Label, l)
		require.Len(t, r.Probs, 2, l)
		assert.InDelta(t, 1, r.Probs["0"]+r.Probs["1"], 1e-9)
		assert.Equal(t, r.Probs[r.Label], r.Score)
		assert.Greater(t, r.Tokens, 2)
	}

	tsv := filepath.Join(dir, "out.tsv")
	require.NoError(t, runPredict(context.Background(), []string{"--adapter", adapterPath, "--input", in, "--lines", "--probs", "--out", tsv, "--pack", "off"}))
	data, err = os.ReadFile(tsv)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, rows, 3)
	assert.Equal(t, "index\tprediction\tp_0\tp_1", rows[0])
	assert.Regexp(t, `^0\t1\t0\.\d{6}\t0\.\d{6}$`, rows[1])
}

// TestPredictRejects: flag values that make no sense and inputs the task
// cannot take are errors naming the flag or the line.
func TestPredictRejects(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	single := filepath.Join(dir, "single.txt")
	require.NoError(t, os.WriteFile(single, []byte("one text\n"), 0o644))
	pairs := filepath.Join(dir, "pairs.txt")
	require.NoError(t, os.WriteFile(pairs, []byte("a\tb\nonly one\n"), 0o644))
	badUTF8 := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(badUTF8, []byte("fine\nbad \xff\n"), 0o644))
	sst2, mrpc := repoPath("models", "adapters", "sst2"), repoPath("models", "adapters", "mrpc")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"format", []string{"--adapter", sst2, "--input", single, "--lines", "--format", "xml"}, "--format"},
		{"probs with jsonl", []string{"--adapter", sst2, "--input", single, "--lines", "--format", "jsonl", "--probs"}, "--probs"},
		{"batch 0", []string{"--adapter", sst2, "--input", single, "--lines", "--batch", "0"}, "--batch"},
		{"max-len 1", []string{"--adapter", sst2, "--input", single, "--lines", "--max-len", "1"}, "--max-len"},
		{"max-len 600", []string{"--adapter", sst2, "--input", single, "--lines", "--max-len", "600"}, "--max-len"},
		{"single line to a pair task", []string{"--adapter", mrpc, "--input", pairs, "--lines"}, "pairs.txt:2"},
		{"pair to a single-text task", []string{"--adapter", sst2, "--input", pairs, "--lines"}, "pairs.txt:1"},
		{"invalid UTF-8", []string{"--adapter", sst2, "--input", badUTF8, "--lines"}, "bad.txt:2"},
		{"casing contradicts the adapter", []string{"--adapter", sst2, "--input", single, "--lines", "--lowercase", "false"}, "lowercase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runPredict(context.Background(), append(tc.args, "--out", filepath.Join(dir, "o"), "--pack", "off"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestDefaultModelFromAnywhere: run from a folder that is not the
// repository, predict finds the base an adapter records (here: the
// shipped model, which the binary carries) without --model.
func TestDefaultModelFromAnywhere(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv(envModel, "")
	adapterPath, err := filepath.Abs(repoPath("models", "adapters", "sst2"))
	require.NoError(t, err)
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile("in.txt", []byte("a gripping film\n"), 0o644))
	require.NoError(t, runPredict(context.Background(), []string{"--adapter", adapterPath, "--input", "in.txt", "--lines", "--out", "out.tsv", "--pack", "off"}))
	d, err := modelDir("")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(d, os.Getenv("XDG_CACHE_HOME")), "default model %s", d)
}
