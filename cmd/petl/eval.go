package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
)

func init() {
	commands["eval"] = command{"score an adapter on a task's dev set", runEval}
}

// adaptedFlags are the flags eval and predict share: the base model, the
// adapter, and how to run them.
type adaptedFlags struct {
	model, vocab, lower, path *string
	pack, precision           *string
	batch, maxLen, threads    *int
	skipBad                   *bool
}

// addAdaptedFlags registers the shared flags on fs; skipBadHelp words
// --skip-bad for the command's input.
func addAdaptedFlags(fs *flag.FlagSet, skipBadHelp string) *adaptedFlags {
	return &adaptedFlags{
		model:     fs.String("model", "", "base model: the checkpoint directory the adapter was trained on, or "+randomTiny+" (default: the base the adapter records, when it is found: its folder, $"+envModel+" or the shipped model)"),
		vocab:     fs.String("vocab", "", "vocabulary file (default: the model's vocab.txt; for "+randomTiny+" "+defaultVocab+")"),
		lower:     fs.String("lowercase", "auto", "lower-case input text: auto (as in training, which the adapter records), true or false (an error when it contradicts the adapter)"),
		path:      fs.String("adapter", "", "adapter file written by petl train"),
		pack:      fs.String("pack", "auto", "pack the base model's dense weights for the kernels once, into a memory-mapped file reused by later runs: auto (a file in the user's cache directory, petl/packed/; skipped with a warning if it cannot be written), off, or a file path"),
		precision: fs.String("precision", "fp32", precisionHelp),
		batch:     fs.Int("batch", 64, "examples per batch"),
		maxLen:    fs.Int("max-len", 0, "maximum tokens per sequence, special tokens included (0: the adapter's, as in training)"),
		threads:   fs.Int("threads", 0, "threads for the kernels (0: the default)"),
		skipBad:   fs.Bool("skip-bad", false, skipBadHelp),
	}
}

// loadContext sets the kernel threads and loads the adapted model the
// flags name; a cancelled ctx stops the wait (opening a large model reads
// all its weights once).
func (f *adaptedFlags) loadContext(ctx context.Context) (*adaptedModel, error) {
	if err := setThreads(*f.threads); err != nil {
		return nil, err
	}
	if err := checkPrecision(*f.precision); err != nil {
		return nil, err
	}
	return interruptible(ctx, func() (*adaptedModel, error) {
		return loadAdapted(*f.model, *f.vocab, *f.lower, *f.path, weightsMode{*f.pack, *f.precision})
	}, func(am *adaptedModel) { am.close() })
}

// inputs are the files am was read from, which no output may replace: the
// base's checkpoint files and vocabulary, the adapter's files and the
// packed weights given with --pack.
func (f *adaptedFlags) inputs(am *adaptedModel) []inputFile {
	var in []inputFile
	vocab := *f.vocab
	if d := am.front.Dir(); d != "" {
		in = checkpointInputs(d)
	} else if vocab == "" {
		vocab = defaultVocab
	}
	if vocab != "" {
		in = append(in, inputFile{"the vocabulary", vocab})
	}
	in = append(in, adapterInputs(am.task.Path(), am.file.Weights)...)
	if p := strings.TrimSpace(*f.pack); p != "" && p != "auto" && p != "off" {
		in = append(in, inputFile{"the packed weights (--pack)", p})
	}
	return in
}

// precisionHelp is the help of --precision.
const precisionHelp = "precision of the base model's frozen dense products: fp32, or int8 (weights quantized once per output channel into a memory-mapped file in the user's cache directory, petl/int8/; activations per row; adapters, layer norms and heads stay fp32)"

// checkPrecision refuses a --precision that is neither fp32 nor int8.
func checkPrecision(s string) error {
	if _, err := petl.ParsePrecision(s); err != nil {
		return badFlag("--precision %s: want fp32 or int8", s)
	}
	return nil
}

// scorePredictions scores predictions of the labelled ds with its task's
// metrics.
func scorePredictions(ds *task.Dataset, preds []petl.Prediction) map[string]float64 {
	got := make([]float32, len(preds))
	golds := make([]float32, len(ds.Examples))
	for i, ex := range ds.Examples {
		if ds.Task.Regression {
			got[i], golds[i] = float32(preds[i].Score), ex.Score
		} else {
			got[i], golds[i] = float32(preds[i].Class), float32(ex.Label)
		}
	}
	return task.Score(ds.Task, got, golds)
}

func runEval(ctx context.Context, args []string) error {
	fs := newFlagSet("eval")
	af := addAdaptedFlags(fs, "skip malformed TSV rows (counted and reported) instead of failing")
	taskName := fs.String("task", "", "task (default: the adapter's; must agree with it)")
	data := fs.String("data", "", "data directory (default $"+task.EnvData+", then "+defaultData+")")
	split := fs.String("split", "dev", "split to score: dev or train")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *split {
	case "dev", "train":
	case "test":
		return badFlag("--split test: GLUE test sets are unlabelled; use petl predict")
	default:
		return badFlag("--split %q: want dev or train", *split)
	}
	if err := firstError(
		positive("batch", *af.batch),
		nonNegative("threads", *af.threads, "the default"),
	); err != nil {
		return err
	}
	if *af.maxLen < 0 || *af.maxLen == 1 || *af.maxLen == 2 {
		return badFlag("--max-len %d: want at least 3 (0: the adapter's)", *af.maxLen)
	}
	var want *task.Spec
	if *taskName != "" {
		var err error
		if want, err = task.Lookup(*taskName); err != nil {
			return usageError{err}
		}
	}
	am, err := af.loadContext(ctx)
	if err != nil {
		return err
	}
	defer am.close()
	if want != nil && want.Key != am.spec.Key {
		return badFlag("--task %s, but the adapter %s was trained for %s", want.Name, *af.path, am.spec.Name)
	}
	if n := am.model.Config.MaxPositions; *af.maxLen > n {
		return badFlag("--max-len %d is longer than the model's %d positions", *af.maxLen, n)
	}
	tk := am.task
	if *af.maxLen != 0 {
		if tk, err = tk.WithMaxLen(*af.maxLen); err != nil {
			return badFlag("--max-len: %v", err)
		}
	}
	dir, err := dataDir(*data)
	if err != nil {
		return err
	}
	ds, err := interruptible(ctx, func() (*task.Dataset, error) {
		return task.Load(am.spec, dir, *split, task.Options{SkipBad: *af.skipBad})
	}, nil)
	if err != nil {
		return err
	}
	reportSkipped(os.Stderr, ds)
	if len(ds.Examples) == 0 {
		return fmt.Errorf("%s: no examples to score", ds.Path)
	}
	unk := train.CountUnknown(am.tok, ds)
	fmt.Fprintf(errOut, "%s %s: %v\n", am.spec.Name, *split, unk)
	if w := unk.Warning(am.spec.Name+" "+*split, am.tok.Lowercase()); w != "" {
		fmt.Fprintln(errOut, w)
	}
	// Through the front door, as predict: ctx is checked between forward
	// passes, and every pass runs under the base's guard (a model file
	// truncated or rewritten meanwhile is an error naming it). Examples
	// are encoded as in training's dev evaluation, which the adapter's
	// recorded dev scores come from: as pairs for a pair task.
	preds, err := predictDataset(ctx, tk, ds, *af.batch)
	if err != nil {
		return err
	}
	scores := scorePredictions(ds, preds)
	fmt.Printf("%s %s (%d examples): %s\n", am.spec.Name, *split, len(ds.Examples), task.FormatScores(am.spec, scores))
	return nil
}
