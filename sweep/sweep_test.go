package sweep

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMethod(t *testing.T) {
	tests := []struct {
		name    string
		method  adapter.Method
		random  bool
		size    int
		topK    int
		wantErr string
	}{
		{name: "full", method: adapter.MethodFull},
		{name: "full-random", method: adapter.MethodFull, random: true},
		{name: "adapter-8-random", method: adapter.MethodAdapter, random: true, size: 8},
		{name: "top-3-random", wantErr: "K in 0..2"},
		{name: "-random", wantErr: "unknown method"},
		{name: "Adapter-64", method: adapter.MethodAdapter, size: 64},
		{name: "top-1", method: adapter.MethodTopK, topK: 1},
		{name: "top-2", method: adapter.MethodTopK, topK: 2},
		{name: "ln-head", method: adapter.MethodLNHead},
		{name: "top-3", wantErr: "K in 0..2"},
		{name: "adapter-0", wantErr: "positive size"},
		{name: "adapter-x", wantErr: "positive size"},
		{name: "lora", wantErr: "unknown method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMethod(tc.name, 2)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.method, m.Plan.Method)
			require.Equal(t, tc.random, m.RandomBase)
			require.Equal(t, tc.size, m.Plan.Adapter.Size)
			require.Equal(t, tc.topK, m.Plan.TopK)
			require.NotEmpty(t, m.LRs)
		})
	}
	m, err := ParseMethod("adapter-64-random", 2)
	require.NoError(t, err)
	require.Equal(t, "adapters (64), random init", m.Label())
	require.Equal(t, DefaultAdapterLRs, m.LRs)
	for _, n := range DefaultMethods(2) {
		_, err := ParseMethod(n, 2)
		require.NoError(t, err, n)
	}
}

func TestParseLists(t *testing.T) {
	m, err := ParseIntMap("SST2=2, rte=10", []string{"sst2", "rte"})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"sst2": 2, "rte": 10}, m)
	for _, bad := range []string{"sst2", "cola=1", "sst2=-1", "sst2=x"} {
		_, err := ParseIntMap(bad, []string{"sst2"})
		require.Error(t, err, bad)
	}
	f, err := ParseFloats("1e-3, 1e-4")
	require.NoError(t, err)
	require.Equal(t, []float64{1e-4, 1e-3}, f)
	for _, bad := range []string{"", "0", "-1e-3", "x", "1e-3,inf"} {
		_, err := ParseFloats(bad)
		require.Error(t, err, bad)
	}
	seeds, err := ParseSeeds("3, 1,2")
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 1, 2}, seeds)
	for _, bad := range []string{"", "1,1", "-1", "x", "1,"} {
		_, err := ParseSeeds(bad)
		require.Error(t, err, bad)
	}
}

func testGrid(t *testing.T, methods ...string) Grid {
	g := Grid{Tasks: []string{"sst2", "rte"}, Epochs: map[string]int{"rte": 4}, Limits: map[string]int{"sst2": 100}, Seeds: []uint64{3}}
	for _, n := range methods {
		m, err := ParseMethod(n, 2)
		require.NoError(t, err)
		g.Methods = append(g.Methods, m)
	}
	return g
}

func TestGridRuns(t *testing.T) {
	g := testGrid(t, "full", "adapter-8")
	runs := g.Runs()
	require.Len(t, runs, 2*(len(DefaultFullLRs)+len(DefaultAdapterLRs)))
	keys := map[string]bool{}
	for _, r := range runs {
		require.False(t, keys[r.Key()], "duplicate key %s", r.Key())
		keys[r.Key()] = true
		if r.Task == "rte" {
			require.Equal(t, 4, r.Epochs)
			require.Zero(t, r.Limit)
		} else {
			require.Equal(t, DefaultEpochs, r.Epochs)
			require.Equal(t, 100, r.Limit)
		}
	}
}

func outcome(task, method string, lr, best float64, trained int) Outcome {
	return Outcome{
		Run:  Run{Task: task, Method: method, LR: lr, Epochs: map[string]int{"sst2": DefaultEpochs, "rte": 4}[task], Limit: map[string]int{"sst2": 100}[task], Seed: 3},
		Main: "accuracy", Best: best, BestEpoch: 1, Trained: trained, Base: 1000,
		Dev: []map[string]float64{{"accuracy": best}},
	}
}

func TestStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	s, warn, err := OpenStore(path)
	require.NoError(t, err)
	require.Empty(t, warn)
	a := outcome("sst2", "full", 1e-4, 0.8, 1000)
	b := outcome("rte", "full", 1e-4, math.NaN(), 1000)
	require.NoError(t, s.Add(a))
	require.NoError(t, s.Add(b))
	require.True(t, s.Done(a.Run))

	s2, warn, err := OpenStore(path)
	require.NoError(t, err)
	require.Empty(t, warn)
	got := s2.Outcomes()
	require.Len(t, got, 2)
	require.Equal(t, 0.8, got[0].Best)
	require.Equal(t, 0.0, got[1].Best, "NaN is stored as 0")

	// a write cut short: the last line is dropped and the file repaired
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"task":"sst2","method":"adapter-8","lr":0.0`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s3, warn, err := OpenStore(path)
	require.NoError(t, err)
	require.Contains(t, warn, "results.jsonl:3")
	require.Len(t, s3.Outcomes(), 2)
	require.NoError(t, s3.Add(outcome("sst2", "adapter-8", 1e-3, 0.7, 10)))
	s4, warn, err := OpenStore(path)
	require.NoError(t, err)
	require.Empty(t, warn)
	require.Len(t, s4.Outcomes(), 3)

	// damage in the middle is an error naming the line
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	lines[1] = "garbage\n"
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644))
	_, _, err = OpenStore(path)
	require.ErrorContains(t, err, "results.jsonl:2")
}

func TestCollect(t *testing.T) {
	g := testGrid(t, "full", "adapter-8", "adapter-64", "ln-head")
	outs := []Outcome{
		outcome("sst2", "full", 1e-4, 0.80, 1000), outcome("sst2", "full", 5e-4, 0.84, 1000),
		outcome("rte", "full", 1e-4, 0.60, 1000), outcome("rte", "full", 5e-4, 0.58, 1000),
		outcome("sst2", "adapter-8", 1e-3, 0.81, 20), outcome("rte", "adapter-8", 5e-3, 0.62, 20),
		outcome("sst2", "adapter-64", 1e-3, 0.83, 100), outcome("rte", "adapter-64", 1e-3, 0.55, 100),
		outcome("sst2", "ln-head", 1e-3, 0.70, 5), // rte missing
	}
	res := Collect(g, outs)
	require.Len(t, res.Rows, 5)
	rows := map[string]Row{}
	for _, r := range res.Rows {
		rows[r.Method.Name] = r
	}
	full := rows["full"]
	require.Equal(t, 5e-4, full.Cells["sst2"].LR)
	require.Equal(t, 1e-4, full.Cells["rte"].LR)
	require.Equal(t, 2, full.Cells["sst2"].Tried)
	mean, complete := full.Mean(g.Tasks)
	require.True(t, complete)
	require.InDelta(t, 0.72, mean, 1e-12)
	require.Equal(t, 2.0, full.TotalMultiple())
	require.InDelta(t, 1.0, full.TrainedFraction(), 1e-12)

	best := rows["adapter-best"]
	require.Equal(t, map[string]int{"sst2": 64, "rte": 8}, best.Sizes)
	require.InDelta(t, 1+0.1+0.02, best.TotalMultiple(), 1e-12)
	require.Equal(t, "adapter-best", res.Rows[1].Method.Name, "the per-task size row precedes the adapter rows")

	_, complete = rows["ln-head"].Mean(g.Tasks)
	require.False(t, complete)

	var b bytes.Buffer
	require.NoError(t, res.WriteTable(&b))
	table := b.String()
	require.Contains(t, table, "| full fine-tuning | 2.00x | 100% | 84.0 | 60.0 | 72.0 |")
	require.Contains(t, table, "| adapters (8-64, size chosen on dev) | 1.12x | 6.0% | 83.0 (64) | 62.0 (8) | 72.5 |")
	require.Contains(t, table, "| layer norms + head | 1.00x | 0.50% | 70.0 | - | - |")

	b.Reset()
	require.NoError(t, res.WriteDetails(&b, outs))
	require.Contains(t, b.String(), "| adapter-8 | 0.005 | 3 | 62.0 | 62.0 | 0 s |")

	chart, err := res.Chart("test")
	require.NoError(t, err)
	var pts []string
	for _, s := range chart.Series {
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%s %.3f %.2f", s.Name, p.X, p.Y))
		}
	}
	require.ElementsMatch(t, []string{
		"full fine-tuning 1.000 0.00",
		"adapters (size) 0.020 -0.50", // (0.81+0.62)/2 - 0.72
		"adapters (size) 0.100 -3.00", // (0.83+0.55)/2 - 0.72
	}, pts)
	var svg bytes.Buffer
	require.NoError(t, chart.WriteSVG(&svg))
	dec := xml.NewDecoder(&svg)
	for {
		_, err := dec.Token()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
	}

	rte, err := res.TaskChart("rte", "rte")
	require.NoError(t, err)
	pts = pts[:0]
	for _, s := range rte.Series {
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%s %.3f %.2f", s.Name, p.X, p.Y))
		}
	}
	require.ElementsMatch(t, []string{
		"full fine-tuning 1.000 0.00",
		"adapters (size) 0.020 2.00",  // 0.62 - 0.60
		"adapters (size) 0.100 -5.00", // 0.55 - 0.60
	}, pts)

	_, err = Collect(testGrid(t, "adapter-8"), outs).Chart("no full")
	require.Error(t, err)
}

// TestCollectSeeds checks the choice over several seeds: the learning rate
// with the best mean wins even when another has the single best run, the
// scores are listed in seed order, and a seed without a run is left out of
// the mean.
func TestCollectSeeds(t *testing.T) {
	g := testGrid(t, "full")
	g.Seeds = []uint64{3, 4, 5}
	at := func(task string, lr, best float64, seed uint64) Outcome {
		o := outcome(task, "full", lr, best, 1000)
		o.Seed = seed
		return o
	}
	outs := []Outcome{
		// sst2: 1e-4 has the best run (0.90) but 5e-4 the best mean.
		at("sst2", 1e-4, 0.90, 3), at("sst2", 1e-4, 0.60, 4), at("sst2", 1e-4, 0.60, 5),
		at("sst2", 5e-4, 0.70, 5), at("sst2", 5e-4, 0.80, 3), at("sst2", 5e-4, 0.75, 4),
		// rte: seed 4 missing.
		at("rte", 1e-4, 0.50, 5), at("rte", 1e-4, 0.60, 3),
	}
	res := Collect(g, outs)
	require.Len(t, res.Rows, 1)
	sst2 := res.Rows[0].Cells["sst2"]
	require.Equal(t, 5e-4, sst2.LR)
	require.Equal(t, []float64{0.80, 0.75, 0.70}, sst2.Scores)
	require.InDelta(t, 0.75, sst2.Mean, 1e-12)
	require.Equal(t, 2, sst2.Tried)
	rte := res.Rows[0].Cells["rte"]
	require.Equal(t, []float64{0.60, 0.50}, rte.Scores)
	require.InDelta(t, 0.55, rte.Mean, 1e-12)
	mean, complete := res.Rows[0].Mean(g.Tasks)
	require.True(t, complete)
	require.InDelta(t, 0.65, mean, 1e-12)

	var b bytes.Buffer
	require.NoError(t, res.WriteTable(&b))
	require.Contains(t, b.String(), "| full fine-tuning | 2.00x | 100% | 75.0 | 55.0 | 65.0 |")
	b.Reset()
	require.NoError(t, res.WriteSeeds(&b))
	require.Contains(t, b.String(), "| full fine-tuning | 80.0 / 75.0 / 70.0 (75.0) | 60.0 / 50.0 (55.0) |")

	runs := g.Runs()
	require.Len(t, runs, 3*2*len(DefaultFullLRs))
	require.Equal(t, uint64(3), runs[0].Seed)
	require.Equal(t, uint64(5), runs[len(runs)-1].Seed)
}

// The runner tests train a tiny random BERT on a synthetic sentiment task.

var words = []string{"good", "great", "nice", "fine", "bad", "awful", "dull", "poor", "the", "film", "was"}

type testBase struct {
	tok   *wordpiece.Tokenizer
	fixed uint64 // seed of the "pretrained" model; 0: 7
}

func (b testBase) New(random bool, seed uint64) (*bert.Model, *wordpiece.Tokenizer, adapter.Base, func() error, error) {
	cfg := bert.Config{
		VocabSize: 5 + len(words), HiddenSize: 16, NumLayers: 2, NumHeads: 2, IntermediateSize: 32,
		MaxPositions: 16, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12, InitializerRange: 0.3,
	}
	s := uint64(7) // "pretrained": a fixed model
	if b.fixed != 0 {
		s = b.fixed
	}
	if random {
		s = seed
	}
	m, err := bert.NewRandom(cfg, 0, s)
	if err != nil {
		return nil, nil, adapter.Base{}, nil, err
	}
	return m, b.tok, adapter.Base{Fingerprint: m.Fingerprint(), Name: "test"}, func() error { return nil }, nil
}

type testData struct{ train, dev *task.Dataset }

func (d testData) Load(key string) (*task.Dataset, *task.Dataset, error) {
	if key != "sst2" {
		return nil, nil, fmt.Errorf("no data for %s", key)
	}
	return d.train, d.dev, nil
}

func synthetic(t *testing.T, n, offset int) *task.Dataset {
	spec, err := task.Lookup("sst2")
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("sentence\tlabel\n")
	for i := 0; i < n; i++ {
		w := words[(i*7+offset)%8]
		label := 0
		if (i*7+offset)%8 < 4 {
			label = 1
		}
		fmt.Fprintf(&b, "the film was %s\t%d\n", w, label)
	}
	ds, err := task.Read(spec, strings.NewReader(b.String()), "synthetic.tsv", task.Options{})
	require.NoError(t, err)
	return ds
}

// testRunner is a runner of a small grid (sst2; full, full-random,
// adapter-4; 2 epochs; seed 5) in the sweep folder dir.
func testRunner(t *testing.T, dir string, jobs int) *Runner {
	v, err := wordpiece.NewVocab(append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, words...))
	require.NoError(t, err)
	g := Grid{Tasks: []string{"sst2"}, Epochs: map[string]int{"sst2": 2}, Seeds: []uint64{5}}
	for _, n := range []string{"full", "full-random", "adapter-4"} {
		m, err := ParseMethod(n, 2)
		require.NoError(t, err)
		g.Methods = append(g.Methods, m)
	}
	if dir != "" {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, RunsDir), 0o755))
	}
	return &Runner{
		Grid: g, Dir: dir, Batch: 8, MaxLen: 16, Jobs: jobs,
		Base: testBase{tok: wordpiece.NewTokenizer(v, true)},
		Data: testData{train: synthetic(t, 64, 0), dev: synthetic(t, 16, 3)},
	}
}

// gathered is every outcome of r's folder and store.
func gathered(t *testing.T, r *Runner) []Outcome {
	outs, _, _, err := Gather(r.Dir, r.Grid, r.Store)
	require.NoError(t, err)
	return outs
}

func TestRunner(t *testing.T) {
	var outs [2][]Outcome
	for i, jobs := range []int{1, 3} {
		var log bytes.Buffer
		r := testRunner(t, t.TempDir(), jobs)
		r.Progress = &log
		require.NoError(t, r.Run(context.Background()))
		outs[i] = gathered(t, r)
		require.Len(t, outs[i], 6)
		require.Contains(t, log.String(), "[6/6]")
		require.Contains(t, log.String(), "ETA")
		for k, o := range outs[i] {
			require.Equal(t, r.Grid.Runs()[k].Key(), o.Key(), "in the plan's order")
			require.Len(t, o.Dev, 2, o.Key())
			require.GreaterOrEqual(t, o.Best, 0.0)
			require.LessOrEqual(t, o.Best, 1.0)
			require.Equal(t, 64, o.Examples)
			require.Equal(t, 16, o.Steps)
			require.Positive(t, o.Trained)
			require.False(t, o.Resumed)
			require.NoFileExists(t, CheckpointPath(r.Dir, k), "a finished run removes its checkpoint")
		}

		// a second run finds everything done and trains nothing
		log.Reset()
		require.NoError(t, r.Run(context.Background()))
		require.Contains(t, log.String(), "all 6 runs already done")
		require.Len(t, gathered(t, r), 6)
	}
	// concurrent runs do not disturb each other: the same scores as one at a time
	scores := func(list []Outcome) map[string][]map[string]float64 {
		m := map[string][]map[string]float64{}
		for _, o := range list {
			m[o.Key()] = o.Dev
		}
		return m
	}
	require.Equal(t, scores(outs[0]), scores(outs[1]))
	res := Collect(testRunner(t, "", 1).Grid, outs[0])
	require.Len(t, res.Rows, 3)
	for _, row := range res.Rows {
		require.Equal(t, 2, row.Cells["sst2"].Tried, row.Label)
	}
}

// TestRunOne: run I alone, as an array task runs it: skipped once done; a
// run stopped mid-way resumes from its checkpoint to exactly the outcome
// of an uninterrupted run; the outcomes of a results file count as done.
func TestRunOne(t *testing.T) {
	ref := testRunner(t, t.TempDir(), 1)
	want, skipped, err := ref.RunOne(context.Background(), 4)
	require.NoError(t, err)
	require.False(t, skipped)
	require.FileExists(t, OutcomePath(ref.Dir, 4))
	again, skipped, err := ref.RunOne(context.Background(), 4)
	require.NoError(t, err)
	require.True(t, skipped)
	require.Equal(t, want.Dev, again.Dev)

	for _, tc := range []struct {
		name  string
		every int
		stop  string // the training log line after which the run is stopped ("": once a checkpoint is there)
	}{
		{"after epoch 1", 0, "epoch 1/2"},
		{"mid-epoch, checkpoint every 3 steps", 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRunner(t, t.TempDir(), 1)
			r.CheckpointEvery = tc.every
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.TrainLog = stopAfter{tc.stop, cancel}
			if tc.stop == "" {
				r.TrainLog = nil
				go func() { // stop once the first checkpoint is there
					for ctx.Err() == nil {
						if _, err := os.Stat(CheckpointPath(r.Dir, 4)); err == nil {
							cancel()
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			_, _, err := r.RunOne(ctx, 4)
			if err == nil { // finished before the stop: nothing to resume
				t.Skip("the run finished before it could be stopped")
			}
			require.ErrorIs(t, err, context.Canceled)
			require.FileExists(t, CheckpointPath(r.Dir, 4))
			require.NoFileExists(t, OutcomePath(r.Dir, 4))

			var log bytes.Buffer
			r.TrainLog = &log
			got, skipped, err := r.RunOne(context.Background(), 4)
			require.NoError(t, err)
			require.False(t, skipped)
			require.True(t, got.Resumed)
			require.Contains(t, log.String(), "resumed from "+CheckpointPath(r.Dir, 4))
			require.Equal(t, want.Dev, got.Dev, "bitwise the uninterrupted run's scores")
			require.Equal(t, want.Best, got.Best)
			require.NoFileExists(t, CheckpointPath(r.Dir, 4))
		})
	}

	// outcomes of a results file are done; a run number past the plan is an error
	store, _, err := OpenStore(filepath.Join(t.TempDir(), "results.jsonl"))
	require.NoError(t, err)
	require.NoError(t, store.Add(want))
	r := testRunner(t, t.TempDir(), 1)
	r.Store = store
	_, skipped, err = r.RunOne(context.Background(), 4)
	require.NoError(t, err)
	require.True(t, skipped)
	_, _, err = r.RunOne(context.Background(), 6)
	require.ErrorContains(t, err, "run 6: the sweep has runs 0 to 5")

	// an outcome file of another run under this run's number is refused
	data, err := os.ReadFile(OutcomePath(ref.Dir, 4))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(OutcomePath(r.Dir, 3), data, 0o644))
	_, _, err = r.RunOne(context.Background(), 3)
	require.ErrorContains(t, err, "belongs to another sweep")
}

// stopAfter is a training log that cancels when a line holds after.
type stopAfter struct {
	after  string
	cancel func()
}

func (s stopAfter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), s.after) {
		s.cancel()
	}
	return len(p), nil
}

// TestRunnerBases checks that every outcome records its base, and that a
// sweep folder of one base is refused for another.
func TestRunnerBases(t *testing.T) {
	r := testRunner(t, t.TempDir(), 2)
	r.Grid.Methods = r.Grid.Methods[:2] // full, full-random
	require.NoError(t, r.Run(context.Background()))
	models := map[string]string{}
	for _, o := range gathered(t, r) {
		require.NotEmpty(t, o.Model, o.Key())
		models[o.Method] = o.Model
	}
	require.NotEqual(t, models["full"], models["full-random"])

	// through a results file too: the field survives the file
	path := filepath.Join(t.TempDir(), "results.jsonl")
	require.NoError(t, WriteResults(path, gathered(t, r)))
	store, _, err := OpenStore(path)
	require.NoError(t, err)
	r2 := testRunner(t, t.TempDir(), 2)
	r2.Grid, r2.Store = r.Grid, store
	require.NoError(t, r2.Run(context.Background()), "same bases: nothing to do")
	for _, rr := range []*Runner{r, r2} {
		rr.Base = testBase{tok: rr.Base.(testBase).tok, fixed: 8}
		err = rr.Run(context.Background())
		require.ErrorContains(t, err, "trained on base "+models["full"])
	}
	require.ErrorContains(t, err, path)
}

func TestRunnerCancel(t *testing.T) {
	r := testRunner(t, t.TempDir(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, r.Run(ctx), context.Canceled)
	require.Empty(t, gathered(t, r))
}

// guardedBase is testBase with a guard that counts what it runs and can
// fail, as petl.Base.Guard fails when the mapped base file changed.
type guardedBase struct {
	testBase
	calls *atomic.Int64
	fail  error
}

func (b guardedBase) Guard(m *bert.Model) func(fn func() error) error {
	return func(fn func() error) error {
		b.calls.Add(1)
		if b.fail != nil {
			return b.fail
		}
		return fn()
	}
}

// TestRunnerGuarded: the runs of a base that guards its models train and
// evaluate under the guard, and a guard's error (a base file changed under
// the run) ends the run with it.
func TestRunnerGuarded(t *testing.T) {
	r := testRunner(t, t.TempDir(), 1)
	r.Grid.Methods = r.Grid.Methods[2:] // adapter-4
	var calls atomic.Int64
	r.Base = guardedBase{testBase: r.Base.(testBase), calls: &calls}
	require.NoError(t, r.Run(context.Background()))
	assert.Positive(t, calls.Load(), "training steps and evaluations ran under the guard")

	r.Dir = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(r.Dir, RunsDir), 0o755))
	r.Base = guardedBase{testBase: r.Base.(guardedBase).testBase, calls: &calls, fail: errors.New("model.safetensors changed")}
	err := r.Run(context.Background())
	require.ErrorContains(t, err, "model.safetensors changed")
}
