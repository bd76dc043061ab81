package main

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/task"
	"github.com/stretchr/testify/require"
)

// Issue 17, the command line's side: nothing petl writes lands on what it
// reads or on a file that is not petl's of that kind, refused before any
// work; every command stops at once on SIGINT/SIGTERM, also while blocked
// reading.

// snapshot records the SHA-256 of files, to check they stayed as they were.
func snapshot(t *testing.T, paths ...string) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		m[p] = sha256.Sum256(data)
	}
	return m
}

func requireUnchanged(t *testing.T, before map[string][32]byte) {
	t.Helper()
	for p, sum := range before {
		data, err := os.ReadFile(p)
		require.NoError(t, err, "%s is gone", p)
		require.Equal(t, sum, sha256.Sum256(data), "%s was changed", p)
	}
}

// tinyCheckpoint writes a small BERT checkpoint over the fixture's
// vocabulary into dir: config.json, model.safetensors, vocab.txt.
func (f *cliFixture) tinyCheckpoint(t *testing.T) string {
	t.Helper()
	cfg := bert.Config{
		VocabSize: 15, HiddenSize: 8, NumLayers: 1, NumHeads: 2, IntermediateSize: 12,
		MaxPositions: 32, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []safetensors.Tensor
	for _, e := range cfg.BaseTensors() {
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.02)
		}
		ts = append(ts, safetensors.F32Tensor(e.Name, e.Shape, v))
	}
	dir := filepath.Join(f.dir, "m")
	require.NoError(t, bert.WriteCheckpoint(dir, cfg, ts))
	data, err := os.ReadFile(f.vocab)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), data, 0o644))
	return dir
}

// TestTrainOutputsNotOnInputs: a mistyped --out, --metrics or --checkpoint
// that names the model's files, the vocabulary, the data, an adapter or any
// file of another kind is refused before the data is read or a step is
// trained, and the file stays as it was (--out m/model.safetensors used to
// replace the model, --metrics emptied the file it named at the start,
// --checkpoint replaced it and removed it at the end).
func TestTrainOutputsNotOnInputs(t *testing.T) {
	f := newCLIFixture(t)
	m := f.tinyCheckpoint(t)
	trainTSV, devTSV := filepath.Join(f.data, "train.tsv"), filepath.Join(f.data, "dev.tsv")
	// An adapter of another run, and the files of the model.
	other := filepath.Join(f.dir, "other")
	code, _, stderr := runCLI(t, append([]string{"train"}, f.trainArgs(other, "--model", m, "--adapter-size", "2")...)...)
	require.Equal(t, 0, code, stderr)
	notes := filepath.Join(f.dir, "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("my notes\n"), 0o644))
	inputs := []string{filepath.Join(m, "model.safetensors"), filepath.Join(m, "config.json"), filepath.Join(m, "vocab.txt"),
		f.vocab, trainTSV, devTSV, other + ".json", other + ".safetensors", notes}
	before := snapshot(t, inputs...)

	out := filepath.Join(f.dir, "run", "a")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"--out onto the model's weights", []string{"--out", filepath.Join(m, "model.safetensors")}, "is the model's model.safetensors"},
		{"--out onto the model's stem", []string{"--out", filepath.Join(m, "model")}, "is the model's model.safetensors"},
		{"--out onto config.json", []string{"--out", filepath.Join(m, "config.json")}, "is the model's config.json"},
		{"--out onto a JSON file of another kind", []string{"--out", filepath.Join(f.dir, "notes.json")}, "is not a petl adapter configuration"},
		{"--metrics onto the vocabulary", []string{"--metrics", filepath.Join(m, "vocab.txt")}, "the model's vocab.txt"},
		{"--metrics onto the --vocab file", []string{"--metrics", f.vocab}, "vocabulary"},
		{"--metrics onto the training data", []string{"--metrics", trainTSV}, "not a petl metrics file"},
		{"--metrics onto config.json", []string{"--metrics", filepath.Join(m, "config.json")}, "config.json"},
		{"--metrics onto another file", []string{"--metrics", notes}, "not a petl metrics file"},
		{"--checkpoint onto the model's weights", []string{"--checkpoint", filepath.Join(m, "model.safetensors")}, "model.safetensors"},
		{"--checkpoint onto the dev data", []string{"--checkpoint", devTSV}, "not a petl training checkpoint"},
		{"--checkpoint onto an adapter's weights", []string{"--checkpoint", other + ".safetensors"}, "not a petl training checkpoint"},
		{"--checkpoint onto an adapter's configuration", []string{"--checkpoint", other + ".json"}, "not a petl training checkpoint"},
		{"--metrics and --checkpoint the same new file", []string{"--metrics", filepath.Join(f.dir, "same"), "--checkpoint", filepath.Join(f.dir, "same")}, "same file"},
		{"--checkpoint onto the adapter being written", []string{"--checkpoint", out + ".safetensors"}, "same file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "--out onto a JSON file of another kind" {
				require.NoError(t, os.WriteFile(filepath.Join(f.dir, "notes.json"), []byte(`{"a": 1}`), 0o644))
				before[filepath.Join(f.dir, "notes.json")] = sha256.Sum256([]byte(`{"a": 1}`))
			}
			args := append(f.trainArgs(out, "--model", m, "--adapter-size", "2"), tc.args...)
			code, stdout, stderr := runCLI(t, append([]string{"train"}, args...)...)
			require.Equal(t, 1, code, "stdout %s\nstderr %s", stdout, stderr)
			require.Contains(t, stderr, tc.want)
			require.NotContains(t, stderr, "training set:", "refused before any work")
			requireUnchanged(t, before)
		})
	}

	// The default metrics and checkpoint names are checked as well.
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	require.NoError(t, os.WriteFile(out+".metrics.jsonl", []byte("not metrics\n"), 0o644))
	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out)...)...)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "the default --metrics")
	require.NoError(t, os.Remove(out+".metrics.jsonl"))

	// A run holding the output refuses a second one at once.
	lock, err := adapter.TryLock(out)
	require.NoError(t, err)
	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out)...)...)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "locked")
	require.NoError(t, lock.Unlock())

	// petl's own files of each kind are replaced as before.
	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out, "--keep-checkpoint")...)...)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, append([]string{"train"}, f.trainArgs(out, "--keep-checkpoint")...)...)
	require.Equal(t, 0, code, stderr)
}

// TestTrainLabelsCheckedFirst: labels that an adapter cannot record (here
// one over 256 bytes) are an error before training, not when the first
// epoch's adapter is saved.
func TestTrainLabelsCheckedFirst(t *testing.T) {
	f := newCLIFixture(t)
	long := strings.Repeat("x", 300)
	for _, split := range []string{"train", "dev"} {
		p := filepath.Join(f.data, split+".tsv")
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(raw), "\tpos\n", "\t"+long+"\n")), 0o644))
	}
	code, _, stderr := runCLI(t, append([]string{"train"}, f.trainArgs(filepath.Join(f.dir, "a"))...)...)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "cannot be recorded in an adapter")
	require.NotContains(t, stderr, "epoch 1/")
}

// copyTinyModel copies the shipped model into a temporary folder.
func copyTinyModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"} {
		data, err := os.ReadFile(repoPath("models", "petl-bert-tiny", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	return dir
}

// blockedStdin makes predict's standard input a pipe that nobody writes,
// as a terminal or a stalled producer would be; started is closed once
// predict reads from it.
func blockedStdin(t *testing.T) (started chan struct{}) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { w.Close(); r.Close() })
	started = make(chan struct{})
	old := stdin
	stdin = &notifyReader{r: r, started: started}
	t.Cleanup(func() { stdin = old })
	return started
}

type notifyReader struct {
	r       *os.File
	started chan struct{}
	once    bool
}

func (n *notifyReader) Read(p []byte) (int, error) {
	if !n.once {
		n.once = true
		close(n.started)
	}
	return n.r.Read(p)
}

// TestPredictOutputsNotOnInputs: predict --out naming the input, a file
// of the model, the vocabulary, the adapter or the packed weights, or an
// existing file that is not a predictions file, is refused before the
// input is read (here standard input, which never delivers: the command
// would wait for it), and the file stays as it was; a missing output
// folder too. A predictions file is replaced as before.
func TestPredictOutputsNotOnInputs(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	m := copyTinyModel(t)
	dir := t.TempDir()
	copyShippedAdapter(t, "sst2", dir)
	ad := filepath.Join(dir, "sst2")
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("a fine film\n"), 0o644))
	notes := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("my notes\n"), 0o644))
	pack := filepath.Join(dir, "packed.bin")
	base := []string{"--adapter", ad, "--model", m, "--pack", "off"}
	files := []string{filepath.Join(m, "model.safetensors"), filepath.Join(m, "config.json"), filepath.Join(m, "vocab.txt"),
		filepath.Join(m, "tokenizer_config.json"), ad + ".json", ad + ".safetensors", in, notes}
	before := snapshot(t, files...)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"--out onto --input", []string{"--input", in, "--lines", "--out", in}, "--input"},
		{"--out onto the model's weights", []string{"--out", filepath.Join(m, "model.safetensors")}, "the model's model.safetensors"},
		{"--out onto config.json", []string{"--out", filepath.Join(m, "config.json")}, "the model's config.json"},
		{"--out onto the vocabulary", []string{"--out", filepath.Join(m, "vocab.txt")}, "the model's vocab.txt"},
		{"--out onto tokenizer_config.json", []string{"--out", filepath.Join(m, "tokenizer_config.json")}, "tokenizer_config.json"},
		{"--out onto the adapter's configuration", []string{"--out", ad + ".json"}, "the adapter's configuration"},
		{"--out onto the adapter's weights", []string{"--out", ad + ".safetensors"}, "the adapter's weights"},
		{"--out onto the --pack file", []string{"--pack", pack, "--out", pack}, "packed weights"},
		{"--out onto another file", []string{"--out", notes}, "not a petl predictions file"},
		{"--out in a missing folder", []string{"--out", filepath.Join(dir, "nowhere", "p.tsv")}, "nowhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blockedStdin(t)
			done := make(chan error, 1)
			go func() { done <- runPredict(context.Background(), append(append([]string{}, base...), tc.args...)) }()
			select {
			case err := <-done:
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.want)
			case <-time.After(20 * time.Second):
				t.Fatal("predict read its input before refusing the output")
			}
			requireUnchanged(t, before)
		})
	}

	// A predictions file (tsv or jsonl) is replaced.
	out := filepath.Join(dir, "out.tsv")
	for _, format := range []string{"tsv", "jsonl", "tsv"} {
		require.NoError(t, runPredict(context.Background(), append(append([]string{}, base...), "--input", in, "--lines", "--format", format, "--out", out)))
	}
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "index\tprediction\n"))
}

// TestPredictStopsWhileReadingStdin: predict blocked reading a standard
// input that never delivers returns within a second of its context's end
// (it used to wait for the input for good, ignoring SIGINT and SIGTERM).
func TestPredictStopsWhileReadingStdin(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	started := blockedStdin(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runPredict(ctx, []string{"--adapter", repoPath("models", "adapters", "sst2"), "--pack", "off"})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("predict returned before reading: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("predict did not start reading standard input")
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	t0 := time.Now()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(t0), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("predict did not stop while blocked reading standard input")
	}
}

// TestCommandsStopOnCancel: eval and inspect given a cancelled context
// stop instead of running to the end (they ignored it), and say so.
func TestCommandsStopOnCancel(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	f := newCLIFixture(t)
	out := filepath.Join(f.dir, "a")
	require.NoError(t, runTrain(context.Background(), f.trainArgs(out, "--adapter-size", "2")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := runEval(ctx, []string{"--model", randomTiny, "--vocab", f.vocab, "--adapter", out, "--data", f.data})
	require.ErrorIs(t, err, context.Canceled)
	err = runInspect(ctx, []string{"--model", repoPath("models", "petl-bert-tiny")})
	require.ErrorIs(t, err, context.Canceled)

	code, _, stderr := runCLIContext(t, ctx, "eval", "--model", randomTiny, "--vocab", f.vocab, "--adapter", out, "--data", f.data)
	require.Equal(t, 1, code)
	require.Equal(t, "petl eval: interrupted\n", stderr)
}

// runCLIContext is runCLI with a context.
func runCLIContext(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs strings.Builder
	oldOut, oldErr := helpOut, errOut
	helpOut, errOut = &out, &errs
	defer func() { helpOut, errOut = oldOut, oldErr }()
	code = runMain(ctx, args)
	return code, out.String(), errs.String()
}

// TestPredictFIFOInput: --input naming a named pipe is refused at once,
// with the hint to give a stream on standard input, in the task's layout
// and with --lines (which opened it and waited for a writer for good).
func TestPredictFIFOInput(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	for _, extra := range [][]string{nil, {"--lines"}} {
		done := make(chan error, 1)
		go func() {
			done <- runPredict(context.Background(), append([]string{"--adapter", repoPath("models", "adapters", "sst2"), "--pack", "off", "--input", fifo}, extra...))
		}()
		select {
		case err := <-done:
			require.ErrorContains(t, err, "not a regular file")
			require.ErrorContains(t, err, "standard input")
		case <-time.After(20 * time.Second):
			t.Fatalf("predict %v waits on a named pipe", extra)
		}
	}
}

// TestSweepOutFolder: sweep --out naming a file (the vocabulary), a
// model's folder, the data's, or a folder whose results.md is not a
// sweep's is refused before any work, and nothing in it changes; a new
// folder, an empty one and a sweep's own (with other sweeps in
// subfolders) are taken.
func TestSweepOutFolder(t *testing.T) {
	f := newCLIFixture(t)
	m := f.tinyCheckpoint(t)
	foreign := filepath.Join(f.dir, "foreign")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "results.jsonl"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "results.md"), []byte("# My notes\n"), 0o644))
	before := snapshot(t, f.vocab, filepath.Join(m, "config.json"), filepath.Join(m, "model.safetensors"),
		filepath.Join(f.data, "train.tsv"), filepath.Join(foreign, "results.md"))
	report := func(out string) (int, string) {
		code, _, stderr := runCLI(t, "sweep", "--model", randomTiny, "--tasks", "sst2", "--methods", "full,adapter-8", "--report", "--out", out)
		return code, stderr
	}
	for _, tc := range []struct{ out, want string }{
		{f.vocab, "is a file, not a folder"},
		{m, "holds config.json"},
		{f.data, "holds dev.tsv"},
		{foreign, "results.md exists and is not a sweep's"},
	} {
		code, stderr := report(tc.out)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, tc.want)
	}
	requireUnchanged(t, before)
	entries, err := os.ReadDir(m)
	require.NoError(t, err)
	require.Len(t, entries, 3, "nothing was added to the model's folder")

	fresh := filepath.Join(f.dir, "new", "sweep")
	code, stderr := report(fresh)
	require.Equal(t, 0, code, stderr)
	require.FileExists(t, filepath.Join(fresh, "results.md"))
	require.NoError(t, os.WriteFile(filepath.Join(fresh, "results.jsonl"), nil, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(fresh, "seeds"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fresh, "notes.txt"), []byte("mine"), 0o644))
	code, stderr = report(fresh)
	require.Equal(t, 0, code, stderr)
	code, stderr = report(t.TempDir())
	require.Equal(t, 0, code, stderr)
	// Another petl's writability probe, there for an instant (the tasks of a
	// Slurm array start together), is not someone else's file.
	probing := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(probing, probePrefix+"123"), nil, 0o644))
	code, stderr = report(probing)
	require.Equal(t, 0, code, stderr)
}

// TestPretrainOutFolder: pretrain --out naming the corpus, a model's
// folder or a folder with a checkpoint-N that is not petl's (pretrain
// replaces and prunes them), and --cpuprofile naming the vocabulary, are
// refused before the corpus is read, and the files stay as they were.
func TestPretrainOutFolder(t *testing.T) {
	f := newCLIFixture(t)
	m := f.tinyCheckpoint(t)
	corpus := filepath.Join(f.dir, "corpus.txt")
	require.NoError(t, os.WriteFile(corpus, []byte("the movie was good\nthe plot was dull\n\nthe movie was great\n"), 0o644))
	hf := filepath.Join(f.dir, "hf")
	require.NoError(t, os.MkdirAll(filepath.Join(hf, "checkpoint-500"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hf, "checkpoint-500", "trainer_state.json"), []byte(`{"global_step": 500}`), 0o644))
	before := snapshot(t, corpus, f.vocab, filepath.Join(m, "config.json"), filepath.Join(m, "model.safetensors"),
		filepath.Join(hf, "checkpoint-500", "trainer_state.json"))
	args := func(extra ...string) []string {
		return append([]string{"pretrain", "--corpus", corpus, "--vocab", f.vocab, "--layers", "1", "--hidden", "8", "--heads", "2",
			"--intermediate", "8", "--steps", "2", "--batch", "2", "--max-len", "8", "--eval-every", "1", "--eval-seqs", "1"}, extra...)
	}
	for _, tc := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--out", corpus}, "the corpus"},
		{[]string{"--out", m}, "holds a model"},
		{[]string{"--out", m, "--init", m}, "holds the --init model"},
		{[]string{"--out", f.dir, "--init", m}, "holds the --init model"},
		{[]string{"--out", hf}, "not a checkpoint of petl pretrain"},
		{[]string{"--out", filepath.Join(f.dir, "p"), "--cpuprofile", f.vocab}, "vocabulary"},
	} {
		code, _, stderr := runCLI(t, args(tc.extra...)...)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, tc.want)
		require.NotContains(t, stderr, "documents", "refused before the corpus was read")
	}
	requireUnchanged(t, before)
	require.DirExists(t, filepath.Join(hf, "checkpoint-500"))
}

// TestEvalGuarded: eval's forward passes run under the base's guard: a
// model file truncated after it was opened is an error naming the file
// (eval ran the model itself, where reading a lost page killed the
// process with SIGBUS).
func TestEvalGuarded(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	m := copyTinyModel(t)
	am, err := loadAdapted(m, "", "auto", repoPath("models", "adapters", "sst2"), weightsMode{pack: "off"})
	require.NoError(t, err)
	defer am.close()
	ds, err := task.ReadLines(am.spec, strings.NewReader("a fine film\na dull film\n"), "stdin", task.Options{})
	require.NoError(t, err)
	_, err = predictDataset(context.Background(), am.task, ds, 8)
	require.NoError(t, err)
	weights := filepath.Join(m, "model.safetensors")
	require.NoError(t, os.Truncate(weights, 4096))
	_, err = predictDataset(context.Background(), am.task, ds, 8)
	require.ErrorIs(t, err, safetensors.ErrChanged)
	require.ErrorContains(t, err, weights)
}

// TestRebase: an adapter that records its base by the weights alone (as
// written before the vocabulary was part of a base's identity) is refused
// with the command that records it; petl rebase records the base's full
// identity, after which the adapter loads and predicts as before.
func TestRebase(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	copyShippedAdapter(t, "sst2", dir)
	ad := filepath.Join(dir, "sst2")
	raw, err := os.ReadFile(ad + ".json")
	require.NoError(t, err)
	cfg, err := adapter.ReadConfig(ad)
	require.NoError(t, err)
	v2 := cfg.Base.Fingerprint
	old := strings.Replace(string(raw), `"fingerprint": "`+v2+`"`, `"fingerprint": "`+cfg.Base.WeightsFingerprint+`"`, 1)
	require.NotEqual(t, string(raw), old)
	for _, key := range []string{"weights_fingerprint", "vocab_fingerprint", "vocab_tokens"} {
		lines := strings.Split(old, "\n")
		for i, l := range lines {
			if strings.Contains(l, `"`+key+`"`) {
				lines = append(lines[:i], lines[i+1:]...)
				break
			}
		}
		old = strings.Join(lines, "\n")
	}
	old = strings.Replace(old, `"format_version": 2`, `"format_version": 1`, 1)
	require.NoError(t, os.WriteFile(ad+".json", []byte(old), 0o644))
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("a gripping, funny film\n"), 0o644))
	predict := []string{"--adapter", ad, "--input", in, "--lines", "--pack", "off", "--out", filepath.Join(dir, "p.tsv")}

	err = runPredict(context.Background(), predict)
	require.ErrorContains(t, err, "by the weights alone")
	require.ErrorContains(t, err, "petl rebase --adapter "+ad)

	code, _, stderr := runCLI(t, "rebase", "--adapter", ad)
	require.Equal(t, 0, code, stderr)
	cfg2, err := adapter.ReadConfig(ad)
	require.NoError(t, err)
	require.Equal(t, v2, cfg2.Base.Fingerprint)
	require.NoError(t, runPredict(context.Background(), predict))

	code, _, stderr = runCLI(t, "rebase", "--adapter", ad)
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "nothing to do")
}
