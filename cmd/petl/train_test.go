package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/task"
	"github.com/stretchr/testify/require"
)

// cliFixture writes a small vocabulary and a plain-TSV task (train and dev)
// into a temporary folder.
type cliFixture struct {
	dir, vocab, data string
}

var cliWords = []string{"good", "great", "nice", "bad", "awful", "dull", "the", "movie", "was", "plot"}

func newCLIFixture(t *testing.T) *cliFixture {
	t.Helper()
	dir := t.TempDir()
	f := &cliFixture{dir: dir, vocab: filepath.Join(dir, "vocab.txt"), data: filepath.Join(dir, "data")}
	toks := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, cliWords...)
	require.NoError(t, os.WriteFile(f.vocab, []byte(strings.Join(toks, "\n")+"\n"), 0o644))
	require.NoError(t, os.MkdirAll(f.data, 0o755))
	for split, n := range map[string]int{"train": 24, "dev": 8} {
		var b strings.Builder
		b.WriteString("text\tlabel\n")
		for i := 0; i < n; i++ {
			pos := i%2 == 0
			w := cliWords[i%3]
			if !pos {
				w = cliWords[3+i%3]
			}
			label := map[bool]string{true: "pos", false: "neg"}[pos]
			fmt.Fprintf(&b, "the %s was %s\t%s\n", cliWords[7+i%3], w, label)
		}
		require.NoError(t, os.WriteFile(filepath.Join(f.data, split+".tsv"), []byte(b.String()), 0o644))
	}
	return f
}

func (f *cliFixture) trainArgs(out string, extra ...string) []string {
	return append([]string{"--model", randomTiny, "--vocab", f.vocab, "--task", "tsv", "--data", f.data,
		"--epochs", "1", "--batch", "8", "--max-len", "12", "--log-every", "100", "--out", out}, extra...)
}

// TestTrainEvalPredict runs the three commands on the tiny TSV task: train
// writes the adapter pair, eval scores it, predict writes one prediction per
// input line in the submission layout.
func TestTrainEvalPredict(t *testing.T) {
	f := newCLIFixture(t)
	out := filepath.Join(f.dir, "run", "task")
	require.NoError(t, runTrain(context.Background(), f.trainArgs(out, "--adapter-size", "4", "--seed", "3")))
	w, c := adapter.Paths(out)
	require.FileExists(t, w)
	require.FileExists(t, c)
	cfg, err := adapter.ReadConfig(out)
	require.NoError(t, err)
	require.Equal(t, adapter.MethodAdapter, cfg.Method)
	require.Equal(t, []string{"neg", "pos"}, cfg.Labels)
	require.Equal(t, randomTiny, cfg.Base.Name)

	require.NoError(t, runEval(context.Background(), []string{"--model", randomTiny, "--vocab", f.vocab, "--adapter", out, "--data", f.data}))

	in := filepath.Join(f.dir, "in.tsv")
	require.NoError(t, os.WriteFile(in, []byte("id\ttext\na7\tthe plot was great\nb9\tthe movie was dull\n"), 0o644))
	pred := filepath.Join(f.dir, "pred.tsv")
	require.NoError(t, runPredict(context.Background(), []string{"--model", randomTiny, "--vocab", f.vocab, "--adapter", c, "--input", in, "--out", pred}))
	got, err := os.ReadFile(pred)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, "index\tprediction", lines[0])
	require.Regexp(t, `^a7\t(pos|neg)$`, lines[1])
	require.Regexp(t, `^b9\t(pos|neg)$`, lines[2])

	// Another base (random-tiny from another seed) is refused, naming both
	// fingerprints.
	other := filepath.Join(f.dir, "other")
	require.NoError(t, os.MkdirAll(other, 0o755))
	raw, err := os.ReadFile(w)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(other, "task.safetensors"), raw, 0o644))
	raw, err = os.ReadFile(c)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"seed": 1,`)
	raw = []byte(strings.Replace(string(raw), `"seed": 1,`, `"seed": 2,`, 1))
	bad := filepath.Join(other, "task.json")
	require.NoError(t, os.WriteFile(bad, raw, 0o644))
	err = runEval(context.Background(), []string{"--model", randomTiny, "--vocab", f.vocab, "--adapter", bad, "--data", f.data})
	require.ErrorContains(t, err, "fingerprint "+cfg.Base.Fingerprint)
}

// TestReadLines checks predict's stdin reader: one text per line, pairs
// split on a tab, malformed lines named or skipped and counted.
func TestReadLines(t *testing.T) {
	sst, err := task.Lookup("sst2")
	require.NoError(t, err)
	rte, err := task.Lookup("rte")
	require.NoError(t, err)

	ds, err := task.ReadLines(sst, strings.NewReader("\uFEFFa fine film\r\n\nnot good\n"), "stdin", task.Options{})
	require.NoError(t, err)
	require.Len(t, ds.Examples, 2)
	require.Equal(t, task.Example{ID: "1", A: "not good", Label: -1, Line: 3}, ds.Examples[1])

	_, err = task.ReadLines(sst, strings.NewReader("ok\nbad\trow\n"), "stdin", task.Options{})
	require.ErrorIs(t, err, task.ErrColumnCount)
	require.ErrorContains(t, err, "stdin:2")

	ds, err = task.ReadLines(rte, strings.NewReader("a\tb\nno tab\nc\td\n"), "stdin", task.Options{SkipBad: true})
	require.NoError(t, err)
	require.Len(t, ds.Examples, 2)
	require.Equal(t, 1, ds.Skipped)
	require.Equal(t, "c", ds.Examples[1].A)
	require.Equal(t, "d", ds.Examples[1].B)

	_, err = task.ReadLines(sst, strings.NewReader("\n \n"), "stdin", task.Options{})
	require.ErrorIs(t, err, task.ErrEmpty)
	_, err = task.ReadLines(sst, strings.NewReader("bad \xff utf8\n"), "stdin", task.Options{})
	require.ErrorIs(t, err, task.ErrBadText)
}

// TestTrainBadInput checks the errors of bad command lines and data.
func TestTrainBadInput(t *testing.T) {
	f := newCLIFixture(t)
	out := filepath.Join(f.dir, "x")
	ctx := context.Background()

	err := runTrain(ctx, append(f.trainArgs(out), "--task", "nope"))
	require.ErrorContains(t, err, `unknown task "nope"`)

	err = runTrain(ctx, append(f.trainArgs(out), "--full", "--ln-head"))
	require.ErrorContains(t, err, "choose one method")
	err = runTrain(ctx, append(f.trainArgs(out), "--full", "--adapter-size", "8"))
	require.ErrorContains(t, err, "--adapter-size applies to adapters")

	t.Setenv(task.EnvData, "")
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(f.dir)) // no ../shared/data/glue from here
	defer os.Chdir(wd)
	args := f.trainArgs(out)
	for i, a := range args {
		if a == "--data" {
			args = append(args[:i:i], args[i+2:]...)
			break
		}
	}
	err = runTrain(ctx, args)
	require.ErrorContains(t, err, "gluebenchmark.com")
	require.ErrorContains(t, err, "SST-2")

	// A malformed row names the file and line, or is skipped with --skip-bad.
	trainFile := filepath.Join(f.data, "train.tsv")
	raw, err := os.ReadFile(trainFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(trainFile, append(raw, []byte("only one field\n")...), 0o644))
	err = runTrain(ctx, f.trainArgs(out, "--ln-head"))
	require.ErrorContains(t, err, trainFile+":26")
	require.NoError(t, runTrain(ctx, f.trainArgs(out, "--ln-head", "--skip-bad")))

	err = runTrain(ctx, append(f.trainArgs(out, "--skip-bad"), "--model", filepath.Join(f.dir, "nomodel")))
	require.ErrorContains(t, err, "nomodel")

	require.NoError(t, os.WriteFile(trainFile, nil, 0o644))
	err = runTrain(ctx, f.trainArgs(out))
	require.ErrorIs(t, err, task.ErrEmpty)
}

func TestDataDir(t *testing.T) {
	existing := t.TempDir()
	missing := filepath.Join(existing, "nope")
	tests := []struct {
		name, flag, env string
		want, wantErr   string
	}{
		{name: "flag", flag: existing, env: missing, want: existing},
		{name: "env", env: existing, want: existing},
		{name: "flag missing", flag: missing, wantErr: "from --data"},
		{name: "env missing", env: missing, wantErr: "from $" + task.EnvData},
		{name: "nothing", wantErr: "no data directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(task.EnvData, tc.env)
			got, err := dataDir(tc.flag)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "gluebenchmark.com")
				require.ErrorContains(t, err, "SST-2")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestLowercaseAuto: --lowercase auto lower-cases for the shipped model
// (its tokenizer_config.json) and for the real bert-base-uncased
// vocabulary without one (random-tiny), and an explicit value wins.
func TestLowercaseAuto(t *testing.T) {
	realVocab := filepath.Join("..", "..", defaultVocab)
	if _, err := os.Stat(realVocab); err != nil {
		t.Skipf("shared vocabulary not available: %v", err)
	}
	shipped := filepath.Join("..", "..", defaultModel)
	tests := []struct {
		name, model, lower string
		want               bool
	}{
		{"shipped model, auto", shipped, "auto", true},
		{"random-tiny over bert-base-uncased, auto", randomTiny, "auto", true},
		{"shipped model, false", shipped, "false", false},
		{"random-tiny, false", randomTiny, "false", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bm, err := loadBase(tc.model, realVocab, 1, tc.lower)
			require.NoError(t, err)
			defer bm.close()
			require.Equal(t, tc.want, bm.tok.Lowercase())
		})
	}
}
