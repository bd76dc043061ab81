package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/stretchr/testify/require"
)

// TestPredictPack runs predict on a checkpoint with every --pack setting:
// the predictions are the same, a named file is written once and reused,
// auto writes into the user's cache directory, and a file that cannot be
// written is an error when named and a warning with auto.
func TestPredictPack(t *testing.T) {
	f := newCLIFixture(t)
	cfg := bert.TinyConfig(15)
	cfg.HiddenSize, cfg.IntermediateSize = 32, 64
	m, err := bert.NewRandom(cfg, 0, 5)
	require.NoError(t, err)
	model := filepath.Join(f.dir, "model")
	require.NoError(t, bert.WriteCheckpoint(model, cfg, m.Tensors()))
	raw, err := os.ReadFile(f.vocab)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(model, "vocab.txt"), raw, 0o644))

	out := filepath.Join(f.dir, "run", "task")
	args := f.trainArgs(out, "--adapter-size", "4")
	args[1] = model // --model
	require.NoError(t, runTrain(context.Background(), args))

	in := filepath.Join(f.dir, "in.tsv")
	require.NoError(t, os.WriteFile(in, []byte("id\ttext\na7\tthe plot was great\nb9\tthe movie was dull\nc1\tnice\n"), 0o644))
	cache := filepath.Join(f.dir, "cache")
	t.Setenv("XDG_CACHE_HOME", cache)
	predict := func(pack string) (string, error) {
		pred := filepath.Join(f.dir, "pred-"+filepath.Base(pack)+".tsv")
		err := runPredict(context.Background(), []string{"--model", model, "--adapter", out, "--input", in, "--out", pred, "--pack", pack})
		if err != nil {
			return "", err
		}
		got, err := os.ReadFile(pred)
		require.NoError(t, err)
		return string(got), nil
	}
	want, err := predict("off")
	require.NoError(t, err)
	_, shape := kernels.PackedBLayout(cfg.HiddenSize, cfg.HiddenSize)

	named := filepath.Join(f.dir, "packed", "w.safetensors")
	var first os.FileInfo
	for i := range 2 { // written, then reused
		got, err := predict(named)
		require.NoError(t, err)
		require.Equal(t, want, got)
		if shape == nil {
			continue
		}
		st, err := os.Stat(named)
		require.NoError(t, err)
		if i == 0 {
			first = st
		} else {
			require.True(t, os.SameFile(first, st), "the file is reused, not replaced")
		}
	}
	got, err := predict("auto")
	require.NoError(t, err)
	require.Equal(t, want, got)
	if shape != nil {
		files, err := filepath.Glob(filepath.Join(cache, "petl", "packed", "*-"+kernels.Active().String()+".safetensors"))
		require.NoError(t, err)
		require.Len(t, files, 1)

		// A path under a regular file cannot be written.
		_, err = predict(filepath.Join(in, "w.safetensors"))
		require.ErrorContains(t, err, "--pack")
		t.Setenv("XDG_CACHE_HOME", in)
		got, err = predict("auto")
		require.NoError(t, err, "auto goes on unpacked")
		require.Equal(t, want, got)
	}
}

// TestPredictPrecision runs predict with the shipped SST-2 adapter in fp32
// and int8: the labels agree on these clear sentences, the int8 weights go
// to the user's cache, and --precision fp16 is a usage error.
func TestPredictPrecision(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("a gripping, funny and moving film\na dull, lifeless mess\n"), 0o644))
	predict := func(precision string) (string, error) {
		pred := filepath.Join(dir, "pred-"+precision+".tsv")
		err := runPredict(context.Background(), []string{"--adapter", repoPath("models", "adapters", "sst2"), "--lines", "--input", in, "--out", pred, "--precision", precision})
		if err != nil {
			return "", err
		}
		got, err := os.ReadFile(pred)
		require.NoError(t, err)
		return string(got), nil
	}
	fp32, err := predict("fp32")
	require.NoError(t, err)
	int8, err := predict("int8")
	require.NoError(t, err)
	require.Equal(t, fp32, int8, "the labels")
	files, err := filepath.Glob(filepath.Join(dir, "cache", "petl", "int8", "*.safetensors"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	_, err = predict("fp16")
	require.ErrorContains(t, err, "--precision fp16: want fp32 or int8")
	var ue usageError
	require.ErrorAs(t, err, &ue, "a usage error (exit status 2)")
}
