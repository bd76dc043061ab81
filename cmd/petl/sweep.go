package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/internal/svgplot"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/sweep"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
	"github.com/petl-go/petl/wordpiece"
)

func init() {
	commands["sweep"] = command{"run the paper's comparison (full, adapters, top-k, layer norms) on the GLUE tasks", runSweep}
}

// glueTasks are the six GLUE tasks of the data folder, in the paper's
// table order.
var glueTasks = []string{"cola", "sst2", "mrpc", "stsb", "rte", "wnli"}

// sweepBase makes fresh models for the sweep's runs.
type sweepBase struct {
	model, vocab, lower string
	guards              *sync.Map // *bert.Model -> *petl.Base it views, while the run holds it
}

func (b sweepBase) New(random bool, seed uint64) (*bert.Model, *wordpiece.Tokenizer, adapter.Base, func() error, error) {
	bm, err := loadBase(b.model, b.vocab, seed, b.lower)
	if err != nil {
		return nil, nil, adapter.Base{}, nil, err
	}
	if !random || b.model == randomTiny {
		if b.guards == nil {
			return bm.model, bm.tok, bm.base, bm.close, nil
		}
		b.guards.Store(bm.model, bm.front)
		release := func() error {
			b.guards.Delete(bm.model)
			return bm.close()
		}
		return bm.model, bm.tok, bm.base, release, nil
	}
	cfg := bm.model.Config
	if err := bm.close(); err != nil {
		return nil, nil, adapter.Base{}, nil, err
	}
	m, err := bert.NewRandom(cfg, 0, seed)
	if err != nil {
		return nil, nil, adapter.Base{}, nil, err
	}
	base := adapter.Base{Fingerprint: m.Fingerprint(), Name: "random", Seed: seed, Config: m.Config}
	return m, bm.tok, base, func() error { return nil }, nil
}

// Guard is sweep.GuardedBase's: the guard of the base m views.
func (b sweepBase) Guard(m *bert.Model) func(fn func() error) error {
	if b.guards == nil {
		return nil
	}
	if fb, ok := b.guards.Load(m); ok {
		return fb.(*petl.Base).Guard
	}
	return nil
}

// sweepData loads each task's train and dev sets once.
type sweepData struct {
	dir string
	mu  sync.Mutex
	got map[string][2]*task.Dataset
}

func (d *sweepData) Load(key string) (*task.Dataset, *task.Dataset, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ds, ok := d.got[key]; ok {
		return ds[0], ds[1], nil
	}
	spec, err := task.Lookup(key)
	if err != nil {
		return nil, nil, err
	}
	tr, err := task.Load(spec, d.dir, "train", task.Options{})
	if err != nil {
		return nil, nil, err
	}
	dev, err := task.Load(tr.Task, d.dir, "dev", task.Options{})
	if err != nil {
		return nil, nil, err
	}
	d.got[key] = [2]*task.Dataset{tr, dev}
	return tr, dev, nil
}

func runSweep(ctx context.Context, args []string) error {
	fs := newFlagSet("sweep")
	model := fs.String("model", "", "base model: a checkpoint directory, or "+randomTiny+"; default $"+envModel+", else the shipped BERT-tiny, which the binary carries")
	vocab := fs.String("vocab", "", "vocabulary file (default: the model's vocab.txt)")
	lower := fs.String("lowercase", "auto", "lower-case input text: auto, true, false")
	data := fs.String("data", "", "GLUE data directory (default $"+task.EnvData+", then "+defaultData+")")
	tasks := fs.String("tasks", strings.Join(glueTasks, ","), "tasks, comma-separated")
	methods := fs.String("methods", "", "methods, comma-separated: full, adapter-N, top-K, ln-head, each also with the suffix -random for a randomly initialised base (default: full-random, full, adapter-8, adapter-64, adapter-256 (left out where wider than the model), top-L/2, ln-head, adapter-64-random)")
	lrFull := fs.String("lr-full", "", "learning rates of full, full-random and top-K (default "+floats(sweep.DefaultFullLRs)+")")
	lrAdapter := fs.String("lr-adapter", "", "learning rates of the adapters (default "+floats(sweep.DefaultAdapterLRs)+")")
	lrLN := fs.String("lr-ln-head", "", "learning rates of ln-head (default "+floats(sweep.DefaultLNHeadLRs)+")")
	epochs := fs.Int("epochs", 5, "epochs per run (dev evaluated after each; the best epoch counts)")
	epochsPer := fs.String("task-epochs", "sst2=2", "epochs per task overriding --epochs, e.g. sst2=2,rte=10")
	limits := fs.String("limit", "", "use only the first N training examples of a task, e.g. sst2=20000 (0: all)")
	batch := fs.Int("batch", 32, "batch size")
	maxLen := fs.Int("max-len", 128, "maximum tokens per sequence")
	seed := fs.Uint64("seed", 1, "seed of every run (head and adapter initialisation, order, dropout; on a random base its weights)")
	seeds := fs.String("seeds", "", "several seeds, e.g. 1,2,3: every setting trained once per seed, the table shows the mean (instead of --seed)")
	jobs := fs.Int("jobs", 0, "runs trained at the same time (default: one per core, each with one kernel thread)")
	threads := fs.Int("threads", 0, "kernel threads per run (default: cores / jobs)")
	out := fs.String("out", "sweep", "output folder: runs/ (the plan, each run's outcome and checkpoint), results.jsonl, results.md, figure.svg; for --slurm on storage every node sees")
	reportOnly := fs.Bool("report", false, "only write the table and figure from the results so far, for the grid of the flags")
	ckptEvery := fs.Int("checkpoint-every", 0, "also write a run's checkpoint every N steps (default: at each epoch's end and when stopped)")
	st := addStepFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if st.run >= 0 || st.collect {
		return runSweepStep(ctx, fs, st, *out, *threads)
	}
	if *maxLen < 3 {
		return badFlag("--max-len %d: want at least 3 ([CLS], a token and [SEP]; a pair needs a second [SEP])", *maxLen)
	}
	if err := firstError(
		positive("epochs", *epochs),
		positive("batch", *batch),
		nonNegative("jobs", *jobs, "one per core"),
		nonNegative("threads", *threads, "cores / jobs"),
		nonNegative("checkpoint-every", *ckptEvery, "at each epoch's end"),
		st.check(fs),
	); err != nil {
		return err
	}

	pb, err := planBase(*model, *vocab, *lower)
	if err != nil {
		return err
	}
	title := pb.Title
	modelPath, err := planModel(pb)
	if err != nil {
		return err
	}
	cfg, err := modelConfig(modelPath)
	if err != nil {
		return err
	}
	if *maxLen > cfg.MaxPositions {
		return badFlag("--max-len %d is longer than the model's %d positions", *maxLen, cfg.MaxPositions)
	}
	g := sweep.Grid{Seeds: []uint64{*seed}}
	if *seeds != "" {
		if flagsSet(fs)["seed"] {
			return badFlag("--seed and --seeds: give one of them")
		}
		if g.Seeds, err = sweep.ParseSeeds(*seeds); err != nil {
			return usageError{fmt.Errorf("--seeds: %w", err)}
		}
	}
	for _, t := range strings.Split(*tasks, ",") {
		spec, err := task.Lookup(strings.TrimSpace(t))
		if err != nil {
			return usageError{fmt.Errorf("--tasks: %w", err)}
		}
		if !spec.GLUE {
			return badFlag("--tasks: %s is not a GLUE task", spec.Key)
		}
		g.Tasks = append(g.Tasks, spec.Key)
	}
	if !flagsSet(fs)["task-epochs"] && !slices.Contains(g.Tasks, "sst2") {
		*epochsPer = "" // the default names SST-2 only; a sweep without it has no use for it
	}
	if g.Epochs, err = sweep.ParseIntMap(*epochsPer, g.Tasks); err != nil {
		return usageError{fmt.Errorf("--task-epochs: %w", err)}
	}
	for t, n := range g.Epochs {
		if n <= 0 {
			return badFlag("--task-epochs %s=%d: want a positive number of epochs", t, n)
		}
	}
	for _, t := range g.Tasks {
		if _, ok := g.Epochs[t]; !ok {
			g.Epochs[t] = *epochs
		}
	}
	if g.Limits, err = sweep.ParseIntMap(*limits, g.Tasks); err != nil {
		return usageError{fmt.Errorf("--limit: %w", err)}
	}
	names := sweep.DefaultMethods(cfg.NumLayers)
	if *methods != "" {
		names = strings.Split(*methods, ",")
	} else {
		names = narrowEnough(names, cfg, os.Stderr)
	}
	grids := map[string]*string{"full": lrFull, "adapter": lrAdapter, "ln-head": lrLN}
	for _, n := range names {
		m, err := sweep.ParseMethod(n, cfg.NumLayers)
		if err != nil {
			return usageError{fmt.Errorf("--methods: %w", err)}
		}
		if m.Plan.Method == adapter.MethodAdapter && m.Plan.Adapter.Size > cfg.HiddenSize {
			return badFlag("--methods %s: adapter size %d is larger than the model's hidden size %d", n, m.Plan.Adapter.Size, cfg.HiddenSize)
		}
		family := "full"
		switch m.Plan.Method {
		case adapter.MethodAdapter:
			family = "adapter"
		case adapter.MethodLNHead:
			family = "ln-head"
		}
		if s := *grids[family]; s != "" {
			if m.LRs, err = sweep.ParseFloats(s); err != nil {
				return usageError{fmt.Errorf("--lr-%s: %w", family, err)}
			}
		}
		g.Methods = append(g.Methods, m)
	}

	// Before any work: the folder is new, empty or a sweep's (a mistyped
	// --out onto a model's or the data's folder is refused).
	if err := checkSweepFolder("--out "+*out, *out); err != nil {
		return err
	}
	store, warn, err := sweep.OpenStore(filepath.Join(*out, "results.jsonl"))
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintln(os.Stderr, warn)
	}
	if *reportOnly {
		return collectSweep(*out, title, g, store)
	}

	// Plan: the grid and every setting a run needs, its runs numbered.
	dir, err := dataDir(*data)
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	plan := sweep.NewPlan(g, sweep.Plan{Base: pb, Data: dir, Batch: *batch, MaxLen: *maxLen, CheckpointEvery: *ckptEvery})
	made, err := sweep.WritePlan(*out, plan)
	if err != nil {
		return err
	}
	if made {
		fmt.Fprintf(os.Stderr, "sweep: wrote the plan of %d runs to %s\n", len(plan.Runs), sweep.PlanPath(*out))
	}
	if st.planOnly() {
		return st.writeJobs(*out, plan, flagsSet(fs))
	}

	// Run every run that has no outcome, --jobs at a time; then collect.
	j, th := *jobs, *threads
	cores := runtime.NumCPU()
	if j == 0 {
		j = max(1, cores/max(th, 1))
	}
	if th == 0 {
		th = max(1, cores/j)
	}
	kernels.SetThreads(th)
	r, err := planRunner(plan, *out, store)
	if err != nil {
		return err
	}
	r.Jobs, r.Progress = j, os.Stderr
	// Loading the base and every task's data does not watch ctx.
	if _, err := interruptible(ctx, func() (struct{}, error) {
		return struct{}{}, reportUnknown(os.Stderr, r.Base.(sweepBase), r.Data.(*sweepData), g.Tasks, g.Seeds[0])
	}, nil); err != nil {
		return err
	}
	if err := r.Run(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "interrupted: finished runs are kept in %s, stopped ones resume from their checkpoints there; run the same command again to continue\n", filepath.Join(*out, sweep.RunsDir))
		}
		return err
	}
	return collectSweep(*out, title, g, store)
}

// reportUnknown writes the share of [UNK] wordpieces in each task's
// training and dev sets under the base's tokenizer, with a warning where it
// is high (usually a casing mistake, which would spoil every run).
func reportUnknown(w io.Writer, base sweepBase, data *sweepData, tasks []string, seed uint64) error {
	_, tok, _, release, err := base.New(false, seed)
	if err != nil {
		return err
	}
	defer release()
	for _, key := range tasks {
		trainSet, devSet, err := data.Load(key)
		if err != nil {
			return err
		}
		for _, ds := range []*task.Dataset{trainSet, devSet} {
			name := ds.Task.Name + " " + ds.Split
			c := train.CountUnknown(tok, ds)
			fmt.Fprintf(w, "%s: %v\n", name, c)
			if warn := c.Warning(name, tok.Lowercase()); warn != "" {
				fmt.Fprintln(w, warn)
			}
		}
	}
	return nil
}

// writeSweepReport writes results.md and figure.svg in dir; missing are
// the grid's runs without an outcome, named in results.md.
func writeSweepReport(dir, model string, g sweep.Grid, outcomes []sweep.Outcome, missing []string) error {
	res := sweep.Collect(g, outcomes)
	var b strings.Builder
	fmt.Fprintf(&b, "# Sweep on %s\n\n", model)
	if len(missing) > 0 {
		fmt.Fprintf(&b, "**Incomplete: %d of %d runs have no outcome yet:** %s.\n\n", len(missing), len(g.Runs()), strings.Join(missing, "; "))
	}
	b.WriteString("Dev scores x100 (each task's GLUE metric), the best learning rate and epoch of each method chosen on dev")
	if len(g.Seeds) > 1 {
		fmt.Fprintf(&b, ";\nthe mean over %d seeds (%s), the learning rate chosen on that mean", len(g.Seeds), uints(g.Seeds))
	}
	b.WriteString(".\n")
	b.WriteString("Total params: parameters needed for all the tasks as a multiple of the base.\n\n")
	if err := res.WriteTable(&b); err != nil {
		return err
	}
	if len(g.Seeds) > 1 {
		b.WriteString("\n## Per seed\n\nSeeds " + uints(g.Seeds) + " in order, then (the mean).\n\n")
		if err := res.WriteSeeds(&b); err != nil {
			return err
		}
	}
	b.WriteString("\n## Every run\n")
	if err := res.WriteDetails(&b, outcomes); err != nil {
		return err
	}
	if err := writeText(filepath.Join(dir, "results.md"), b.String()); err != nil {
		return err
	}
	fmt.Print(b.String())
	chart, err := res.Chart(fmt.Sprintf("%s: %d GLUE tasks, mean dev score", filepath.Base(model), len(g.Tasks)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "no mean figure yet: %v\n", err)
	} else if err := writeChart(filepath.Join(dir, "figure.svg"), chart); err != nil {
		return err
	}
	for _, t := range g.Tasks {
		name := t
		if spec, err := task.Lookup(t); err == nil {
			name = spec.Name
		}
		c, err := res.TaskChart(fmt.Sprintf("%s: %s", filepath.Base(model), name), t)
		if err != nil {
			continue // this task's full fine-tuning is not done yet
		}
		if err := writeChart(filepath.Join(dir, "figure-"+t+".svg"), c); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %s and the figures in %s\n", filepath.Join(dir, "results.md"), dir)
	return nil
}

// modelConfig reads the model's configuration (random-tiny: BERT-tiny's).
func modelConfig(model string) (bert.Config, error) {
	if model == randomTiny {
		return bert.TinyConfig(30522), nil
	}
	return bert.LoadConfig(filepath.Join(model, "config.json"))
}

func uints(v []uint64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatUint(x, 10)
	}
	return strings.Join(s, ", ")
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// writeChart writes c as SVG at path, atomically.
func writeChart(path string, c *svgplot.Chart) error {
	var svg strings.Builder
	if err := c.WriteSVG(&svg); err != nil {
		return err
	}
	return writeText(path, svg.String())
}

// writeText writes s to path atomically.
func writeText(path, s string) error {
	return safefile.WriteAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}

// narrowEnough drops from the default methods the adapters wider than the
// model's hidden size (the paper's adapter-256 on a 128-wide BERT-tiny: not
// a bottleneck, and refused when named), saying so on w.
func narrowEnough(names []string, cfg bert.Config, w io.Writer) []string {
	var kept []string
	for _, n := range names {
		if m, err := sweep.ParseMethod(n, cfg.NumLayers); err == nil && m.Plan.Method == adapter.MethodAdapter && m.Plan.Adapter.Size > cfg.HiddenSize {
			fmt.Fprintf(w, "sweep: leaving %s out of the default methods: wider than the model's hidden size %d\n", n, cfg.HiddenSize)
			continue
		}
		kept = append(kept, n)
	}
	return kept
}
