package main

import (
	"context"
	"flag"
	"fmt"
	"os"

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
	pack                      *string
	batch, maxLen, threads    *int
	skipBad                   *bool
}

// addAdaptedFlags registers the shared flags on fs; skipBadHelp words
// --skip-bad for the command's input.
func addAdaptedFlags(fs *flag.FlagSet, skipBadHelp string) *adaptedFlags {
	return &adaptedFlags{
		model:   fs.String("model", "", "base model: the checkpoint directory the adapter was trained on, or "+randomTiny),
		vocab:   fs.String("vocab", "", "vocabulary file (default: the model's vocab.txt; for "+randomTiny+" "+defaultVocab+")"),
		lower:   fs.String("lowercase", "auto", "lower-case input text: auto (as in training), true, false"),
		path:    fs.String("adapter", "", "adapter file written by petl train"),
		pack:    fs.String("pack", "auto", "pack the base model's dense weights for the kernels once, into a memory-mapped file reused by later runs: auto (a file in the user's cache directory, petl/packed/; skipped with a warning if it cannot be written), off, or a file path"),
		batch:   fs.Int("batch", 64, "examples per batch"),
		maxLen:  fs.Int("max-len", 0, "maximum tokens per sequence (default: the adapter's)"),
		threads: fs.Int("threads", 0, "threads for the kernels (0: the default)"),
		skipBad: fs.Bool("skip-bad", false, skipBadHelp),
	}
}

// load sets the kernel threads and loads the adapted model the flags name.
func (f *adaptedFlags) load() (*adaptedModel, error) {
	if err := setThreads(*f.threads); err != nil {
		return nil, err
	}
	return loadAdapted(*f.model, *f.vocab, *f.lower, *f.path, *f.pack)
}

// maxLenFor returns --max-len, or the length am's adapter was trained with.
func (f *adaptedFlags) maxLenFor(am *adaptedModel) int {
	if *f.maxLen != 0 {
		return *f.maxLen
	}
	return am.file.MaxLen
}

func runEval(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	af := addAdaptedFlags(fs, "skip malformed TSV rows (counted and reported) instead of failing")
	taskName := fs.String("task", "", "task (default: the adapter's; must agree with it)")
	data := fs.String("data", "", "data directory (default $"+task.EnvData+", then "+defaultData+")")
	split := fs.String("split", "dev", "split to score (dev, or train)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *split == "test" {
		return fmt.Errorf("--split test: GLUE test sets are unlabelled; use petl predict")
	}
	am, err := af.load()
	if err != nil {
		return err
	}
	defer am.close()
	if *taskName != "" {
		want, err := task.Lookup(*taskName)
		if err != nil {
			return err
		}
		if want.Key != am.spec.Key {
			return fmt.Errorf("--task %s, but the adapter %s was trained for %s", want.Name, *af.path, am.spec.Name)
		}
	}
	dir, err := dataDir(*data)
	if err != nil {
		return err
	}
	ds, err := task.Load(am.spec, dir, *split, task.Options{SkipBad: *af.skipBad})
	if err != nil {
		return err
	}
	reportSkipped(os.Stderr, ds)
	if len(ds.Examples) == 0 {
		return fmt.Errorf("%s: no examples to score", ds.Path)
	}
	scores, _, err := train.Evaluate(am.model, am.tok, ds, af.maxLenFor(am), *af.batch)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s (%d examples): %s\n", am.spec.Name, *split, len(ds.Examples), task.FormatScores(am.spec, scores))
	return nil
}
