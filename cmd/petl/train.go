package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/optim"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
)

func init() {
	commands["train"] = command{"train an adapter (or fine-tune) on a GLUE task or TSV data", runTrain}
}

// randomTiny is the --model value for a randomly initialised BERT-tiny.
const randomTiny = "random-tiny"

// defaultModel is the model shipped in the repository, relative to its
// root.
var defaultModel = filepath.Join("models", "petl-bert-tiny")

// defaultVocab is the vocabulary random-tiny uses, relative to the working
// directory.
var defaultVocab = filepath.Join("..", "shared", "data", "vocab", "bert-base-uncased-vocab.txt")

// defaultData is the GLUE folder tried last, relative to the working
// directory.
var defaultData = filepath.Join("..", "shared", "data", "glue")

// dataDir finds the data folder: flag, then $PETL_DATA, then defaultData
// if it exists. A folder named by the flag or the variable that does not
// exist is an error with the same guidance as no folder at all.
func dataDir(flagValue string) (string, error) {
	from, dir := "", ""
	switch {
	case flagValue != "":
		from, dir = "--data", flagValue
	case os.Getenv(task.EnvData) != "":
		from, dir = "$"+task.EnvData, os.Getenv(task.EnvData)
	default:
		if st, err := os.Stat(defaultData); err == nil && st.IsDir() {
			return defaultData, nil
		}
		return "", fmt.Errorf("no data directory: pass --data DIR or set $%s (tried %s too). %s", task.EnvData, defaultData, dataHelp)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("data directory %s (from %s) does not exist or is not a folder. %s", dir, from, dataHelp)
	}
	return dir, nil
}

// dataHelp says where GLUE comes from and the layout petl reads.
const dataHelp = "GLUE can be obtained from https://gluebenchmark.com/tasks (the download_glue_data.py script of the GLUE baselines fetches it); " +
	"the expected layout is DIR/<Task>/{train,dev,test}.tsv with the GLUE folder names CoLA, SST-2, MRPC, STS-B, RTE, WNLI, " +
	"or, for --task tsv, DIR/{train,dev}.tsv with a header naming the columns text, text_b (optional) and label"

// reportSkipped tells how many malformed rows were skipped.
func reportSkipped(w io.Writer, ds *task.Dataset) {
	if ds == nil || ds.Skipped == 0 {
		return
	}
	fmt.Fprintf(w, "%s: skipped %d malformed rows (--skip-bad)\n", ds.Path, ds.Skipped)
	for _, p := range ds.Problems {
		fmt.Fprintf(w, "  %v\n", p)
	}
	if ds.Skipped > len(ds.Problems) {
		fmt.Fprintf(w, "  ... and %d more\n", ds.Skipped-len(ds.Problems))
	}
}

// setThreads applies --threads.
func setThreads(n int) error {
	if n < 0 {
		return fmt.Errorf("--threads %d: want a positive number (0 keeps the default)", n)
	}
	if n > 0 {
		kernels.SetThreads(n)
	}
	return nil
}

func runTrain(ctx context.Context, args []string) error {
	fs := newFlagSet("train")
	model := fs.String("model", "", "base model: a BERT checkpoint directory (config.json, model.safetensors, vocab.txt), or "+randomTiny+" (a random BERT-tiny, L2 H128 A2 I512); default $"+envModel+", else the shipped BERT-tiny, which the binary carries")
	vocab := fs.String("vocab", "", "vocabulary `file` (default: the model's vocab.txt; for "+randomTiny+" "+defaultVocab+")")
	lower := fs.String("lowercase", "auto", "lower-case input text: auto (the model's tokenizer_config.json do_lower_case, else from its vocabulary), true, false")
	baseSeed := fs.Uint64("base-seed", 1, "initialisation seed of the "+randomTiny+" base")
	taskName := fs.String("task", "", "task: "+strings.Join(task.Names(), ", "))
	data := fs.String("data", "", "data `directory` (default $"+task.EnvData+", then "+defaultData+")")
	size := fs.Int("adapter-size", 64, "adapter bottleneck size, at most the model's hidden size (method: adapters)")
	full := fs.Bool("full", false, "full fine-tuning instead of adapters")
	topK := fs.Int("top-layers", 0, "fine-tune only the top K encoder layers (with pooler and head) instead of adapters")
	lnHead := fs.Bool("ln-head", false, "train only the layer norms and the head")
	placement := fs.String("placement", "houlsby", "adapter placement: houlsby (two per layer) or pfeiffer (one, after the feed-forward)")
	act := fs.String("nonlinearity", "gelu", "adapter nonlinearity: gelu, relu, tanh")
	initStd := fs.Float64("init-std", adapter.DefaultInitStd, "standard deviation of the adapters' initial weights (truncated at 2σ)")
	pooler := fs.Bool("train-pooler", false, "adapters: train the pooler too")
	epochs := fs.Int("epochs", 3, "passes over the training set (dev is evaluated after each)")
	lr := fs.Float64("lr", 0, "peak learning rate (default 1e-3 for adapters, 2e-5 otherwise)")
	warmup := fs.Float64("warmup", optim.DefaultWarmup, "fraction of the steps over which the learning rate rises linearly from 0 to its peak, before it decays linearly to 0; in [0, 1)")
	wd := fs.Float64("weight-decay", shortFloat(optim.DefaultAdamW().WeightDecay), "AdamW decoupled weight decay (not on biases and layer norms)")
	clip := fs.Float64("max-grad-norm", 1, "clip the global gradient norm to this (0: no clipping)")
	batch := fs.Int("batch", 32, "examples per step")
	maxLen := fs.Int("max-len", 128, "maximum tokens per sequence, special tokens included (at least 3)")
	seed := fs.Uint64("seed", 1, "seed of the head and adapter initialisation, example order and dropout")
	patience := fs.Int("patience", 0, "stop after N evaluations in a row without a better dev score in the task's main metric (0: never stop early); the adapter holds the best")
	out := fs.String("out", "", "adapter `file` to write (STEM, STEM.safetensors or STEM.json; both files are written)")
	metrics := fs.String("metrics", "", "metrics `file`, one JSON line per evaluation (default STEM.metrics.jsonl; off for none)")
	resume := fs.String("resume", "", "resume from this training checkpoint `file` (written on Ctrl-C and after each epoch)")
	ckpt := fs.String("checkpoint", "", "training checkpoint `file` (default STEM.ckpt.safetensors)")
	ckptEvery := fs.Int("checkpoint-every", 0, "also write the checkpoint every N steps")
	keepCkpt := fs.Bool("keep-checkpoint", false, "keep the checkpoint after the run finishes (by default it is removed then)")
	threads := fs.Int("threads", 0, "threads for the kernels (0: the default)")
	limit := fs.Int("limit", 0, "use only the first N training examples (quick runs)")
	skipBad := fs.Bool("skip-bad", false, "skip malformed TSV rows (counted and reported) instead of failing")
	logEvery := fs.Int("log-every", 0, "progress line every N steps (0: every 10 seconds, and after each epoch)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := flagsSet(fs)

	plan, err := planFromFlags(set, *size, *full, *topK, *lnHead, *placement, *act, *initStd, *pooler)
	if err != nil {
		return usageError{err}
	}
	if *out == "" {
		return badFlag("no output: pass --out FILE for the adapter file")
	}
	if *maxLen < 3 {
		return badFlag("--max-len %d: want at least 3 ([CLS], a token and [SEP]; a pair needs a second [SEP])", *maxLen)
	}
	if set["lr"] {
		if err := positiveFloat("lr", *lr); err != nil {
			return err
		}
	}
	if err := firstError(
		positive("epochs", *epochs),
		positive("batch", *batch),
		inRange("warmup", *warmup, 0, 1, true),
		nonNegativeFloat("weight-decay", *wd, "no decay"),
		nonNegativeFloat("max-grad-norm", *clip, "no clipping"),
		nonNegative("patience", *patience, "never stop early"),
		nonNegative("checkpoint-every", *ckptEvery, "only after each epoch"),
		nonNegative("log-every", *logEvery, "every 10 seconds"),
		nonNegative("limit", *limit, "every example"),
		nonNegative("threads", *threads, "the default"),
	); err != nil {
		return err
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	spec, err := task.Lookup(*taskName)
	if err != nil {
		return usageError{err}
	}
	dir, err := dataDir(*data)
	if err != nil {
		return err
	}
	// The outputs, before any work: a mistyped path is refused at once,
	// and a second run writing the same adapter is refused while this
	// one holds it.
	w, c := adapter.Paths(*out)
	metricsPath := *metrics
	switch metricsPath {
	case "":
		metricsPath = strings.TrimSuffix(w, ".safetensors") + ".metrics.jsonl"
	case "off":
		metricsPath = ""
	}
	ckptPath := *ckpt
	if ckptPath == "" {
		ckptPath = strings.TrimSuffix(w, ".safetensors") + ".ckpt.safetensors"
	}
	lock, err := checkTrainOutputs(*out, metricsPath, ckptPath, set, modelInputs(*model, *vocab))
	if err != nil {
		return err
	}
	defer lock.Unlock()

	opt := task.Options{SkipBad: *skipBad}
	type sets struct{ train, dev *task.Dataset }
	ds, err := interruptible(ctx, func() (sets, error) {
		trainSet, err := task.Load(spec, dir, "train", opt)
		if err != nil {
			return sets{}, err
		}
		devSet, err := task.Load(trainSet.Task, dir, "dev", opt)
		return sets{trainSet, devSet}, err
	}, nil)
	if err != nil {
		return err
	}
	trainSet, devSet := ds.train, ds.dev
	reportSkipped(os.Stderr, trainSet)
	reportSkipped(os.Stderr, devSet)
	if !trainSet.Task.Regression {
		if err := adapter.CheckLabels(trainSet.Task.Labels); err != nil {
			return fmt.Errorf("%s: its labels cannot be recorded in an adapter: %w", trainSet.Path, err)
		}
	}
	if *limit > 0 && *limit < len(trainSet.Examples) {
		trainSet.Examples = trainSet.Examples[:*limit]
	}
	if len(trainSet.Examples) == 0 {
		return fmt.Errorf("%s: no training examples left", trainSet.Path)
	}
	if len(devSet.Examples) == 0 {
		return fmt.Errorf("%s: no dev examples left", devSet.Path)
	}

	bm, err := interruptible(ctx, func() (*baseModel, error) {
		return loadBase(*model, *vocab, *baseSeed, *lower)
	}, func(bm *baseModel) { bm.close() })
	if err != nil {
		return err
	}
	defer bm.close()
	mc := bm.model.Config
	switch {
	case *maxLen > mc.MaxPositions:
		return badFlag("--max-len %d is longer than the model's %d positions", *maxLen, mc.MaxPositions)
	case plan.Method == adapter.MethodAdapter && plan.Adapter.Size > mc.HiddenSize:
		return badFlag("--adapter-size %d is larger than the model's hidden size %d: a bottleneck adapter projects down, so want 1..%d", plan.Adapter.Size, mc.HiddenSize, mc.HiddenSize)
	case plan.Method == adapter.MethodTopK && plan.TopK > mc.NumLayers:
		return badFlag("--top-layers %d: the model has %d layers", plan.TopK, mc.NumLayers)
	}
	adamw := optim.DefaultAdamW()
	adamw.WeightDecay = float32(*wd)
	cfg := train.Config{
		Plan: plan, Epochs: *epochs, LR: *lr, Batch: *batch, MaxLen: *maxLen, Seed: *seed,
		Warmup: *warmup, AdamW: adamw, MaxGradNorm: *clip, Patience: *patience,
		Out: *out, Metrics: metricsPath, Checkpoint: ckptPath, CheckpointEvery: *ckptEvery, KeepCheckpoint: *keepCkpt,
		Base: bm.base, Progress: errOut, LogEvery: *logEvery,
		// A base file truncated or rewritten under the run is an error
		// naming it, at the step it is found.
		Guard: bm.front.Guard,
	}
	if *warmup == 0 {
		cfg.Warmup = train.Off
	}
	if *clip == 0 {
		cfg.MaxGradNorm = train.Off
	}
	if *limit > 0 {
		cfg.Limit = *limit
	}
	tr, err := interruptible(ctx, func() (*train.Trainer, error) {
		return train.New(bm.model, bm.tok, trainSet, devSet, cfg)
	}, nil)
	if err != nil {
		return err
	}
	if *resume != "" {
		if err := tr.Resume(*resume); err != nil {
			return err
		}
	}
	start := time.Now()
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	files := fmt.Sprintf("adapter: %s, %s", w, c)
	if metricsPath != "" {
		files += "; metrics: " + metricsPath
	}
	if *keepCkpt && tr.Config().Checkpoint != "" {
		files += "; checkpoint: " + tr.Config().Checkpoint
	}
	stopped := ""
	if res.StoppedEarly {
		stopped = fmt.Sprintf(", stopped early by --patience %d", *patience)
	}
	fmt.Printf("best dev %s %.4f (epoch %d of %d%s, %d steps); %s\n",
		spec.Main, res.Best, res.BestEpoch, len(res.Epochs), stopped, res.Steps, files)
	fmt.Printf("%s; time %s\n", tr.Setup().Summary(), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// checkTrainOutputs checks, before any work, every file a training run
// writes: the adapter at out (adapter.CheckOutput: its folder, made if
// need be, takes files, and STEM.json and STEM.safetensors are an
// adapter's where they exist), the metrics file (unless "") and the
// checkpoint, none of them one of inputs (the base's files) nor an
// existing file of another kind, and all different. It returns the lock
// on the adapter (adapter.TryLock), which keeps a second run off the same
// output while this one runs. set says which flags were given (the
// messages name the defaults as such).
func checkTrainOutputs(out, metrics, ckpt string, set map[string]bool, inputs []inputFile) (*adapter.Lock, error) {
	w, c := adapter.Paths(out)
	for _, p := range []string{w, c} {
		label := "--out " + out
		if p != out {
			label += " (" + filepath.Base(p) + ")"
		}
		if err := notAnInput(label, p, inputs); err != nil {
			return nil, err
		}
	}
	if d := filepath.Dir(c); d != "" {
		if _, err := os.Stat(d); err != nil {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("--out %s: %w", out, err)
			}
		}
	}
	if err := adapter.CheckOutput(out); err != nil {
		return nil, err
	}
	label := func(flag, path string) string {
		if set[flag] {
			return "--" + flag + " " + path
		}
		return fmt.Sprintf("%s (the default --%s)", path, flag)
	}
	if metrics != "" {
		if err := checkOutputFile(label("metrics", metrics), metrics, metricsKind, inputs); err != nil {
			return nil, err
		}
	}
	if err := checkOutputFile(label("checkpoint", ckpt), ckpt, checkpointKind, inputs); err != nil {
		return nil, err
	}
	outs := []inputFile{{"the adapter's weights (--out)", w}, {"the adapter's configuration (--out)", c}, {"the checkpoint (--checkpoint)", ckpt}}
	if metrics != "" {
		outs = append(outs, inputFile{"the metrics file (--metrics)", metrics})
	}
	if err := distinctOutputs(outs...); err != nil {
		return nil, err
	}
	lock, err := adapter.TryLock(out)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w (another petl train writes it: wait for it, or choose another output)", out, err)
	}
	return lock, nil
}

// planFromFlags turns the method flags into a plan; at most one of --full,
// --top-layers and --ln-head may be given, and --adapter-size and the
// adapter options only with none of them.
func planFromFlags(set map[string]bool, size int, full bool, topK int, lnHead bool, placement, act string, initStd float64, pooler bool) (adapter.Plan, error) {
	var methods []string
	if full {
		methods = append(methods, "--full")
	}
	if set["top-layers"] {
		methods = append(methods, "--top-layers")
	}
	if lnHead {
		methods = append(methods, "--ln-head")
	}
	if len(methods) > 1 {
		return adapter.Plan{}, fmt.Errorf("%s: choose one method", strings.Join(methods, " and "))
	}
	if len(methods) == 1 {
		for _, f := range []string{"adapter-size", "placement", "nonlinearity", "init-std", "train-pooler"} {
			if set[f] {
				return adapter.Plan{}, fmt.Errorf("--%s applies to adapters, not to %s", f, methods[0])
			}
		}
	}
	switch {
	case full:
		return adapter.Plan{Method: adapter.MethodFull}, nil
	case set["top-layers"]:
		if topK < 0 {
			return adapter.Plan{}, fmt.Errorf("--top-layers %d: want 0 or more", topK)
		}
		return adapter.Plan{Method: adapter.MethodTopK, TopK: topK}, nil
	case lnHead:
		return adapter.Plan{Method: adapter.MethodLNHead}, nil
	}
	pl, err := adapter.ParsePlacement(placement)
	if err != nil {
		return adapter.Plan{}, err
	}
	a, err := adapter.ParseActivation(act)
	if err != nil {
		return adapter.Plan{}, err
	}
	if size <= 0 {
		return adapter.Plan{}, fmt.Errorf("--adapter-size %d: want a positive size", size)
	}
	if !(initStd > 0) {
		return adapter.Plan{}, fmt.Errorf("--init-std %v: want a positive number", initStd)
	}
	return adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: size, Placement: pl, Activation: a, InitStd: initStd}, TrainPooler: pooler}, nil
}
