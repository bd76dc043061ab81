package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
)

func init() {
	commands["eval"] = command{"score an adapter on a task's dev set", runEval}
}

// adaptedModel is a base model with an adapter applied, and the adapter's
// task.
type adaptedModel struct {
	*baseModel
	file *adapter.File
	spec *task.Spec
}

// loadAdapted reads the adapter at path and puts it on the base model
// named by model (see loadBase; random-tiny is rebuilt from the seed the
// adapter records). lower overrides the adapter's recorded lower-casing
// when not "auto".
func loadAdapted(model, vocab, lower, path, pack string) (*adaptedModel, error) {
	if path == "" {
		return nil, fmt.Errorf("no adapter: pass --adapter FILE (written by petl train --out FILE)")
	}
	f, err := adapter.Read(path)
	if err != nil {
		return nil, err
	}
	rec := strconv.FormatBool(f.Config.Lowercase)
	switch strings.ToLower(lower) {
	case "", "auto":
	case "true", "yes", "1", "false", "no", "0":
		if want := slices.Contains([]string{"true", "yes", "1"}, strings.ToLower(lower)); want != f.Config.Lowercase {
			return nil, fmt.Errorf("--lowercase %s contradicts the adapter %s, trained with lowercase %s: text must be cased as in training", lower, path, rec)
		}
	default:
		return nil, fmt.Errorf("--lowercase %q: want auto, true or false", lower)
	}
	lower = rec
	bm, err := loadBase(model, vocab, f.Config.Base.Seed, lower)
	if err != nil {
		return nil, err
	}
	if err := packBase(bm, pack); err != nil {
		bm.close()
		return nil, err
	}
	if _, err := f.Apply(bm.model, bm.base.Fingerprint, false); err != nil {
		bm.close()
		return nil, err
	}
	spec, err := adapterSpec(&f.Config)
	if err != nil {
		bm.close()
		return nil, err
	}
	return &adaptedModel{baseModel: bm, file: f, spec: spec}, nil
}

// packBase packs bm's dense weights (bert.Model.PackWeights) as a --pack
// value says: "auto" into a file in the user's cache directory (on the heap
// for random-tiny, which is on the heap itself), "off" not at all, anything
// else into that file. With auto, a failure is a warning and the model runs
// unpacked (slower, same results); with a named file it is an error.
func packBase(bm *baseModel, pack string) error {
	if pack == "off" {
		return nil
	}
	path, auto := pack, pack == "auto" || pack == ""
	var err error
	switch {
	case bm.base.Name == randomTiny && auto:
		path = ""
	case auto:
		path, err = bert.DefaultPackPath(bm.base.Fingerprint)
	}
	var st bert.PackStats
	if err == nil {
		st, err = bm.model.PackWeights(path, bm.base.Fingerprint)
	}
	if err != nil {
		if !auto {
			return fmt.Errorf("--pack %s: %w", pack, err)
		}
		fmt.Fprintf(os.Stderr, "warning: the weights are not packed (each product packs them again: slower, same results): %v\n", err)
		return nil
	}
	if bm.ck != nil {
		// The packed copies are what the products read: the originals
		// need not stay resident.
		if err := bm.ck.Evict(bm.model.PackedWeights()...); err != nil {
			fmt.Fprintf(os.Stderr, "warning: %v (the weights stay resident twice)\n", err)
		}
	}
	if st.Written {
		fmt.Fprintf(os.Stderr, "packed %d weight matrices for the %s kernels into %s (%.1f MiB; %s)\n", st.Tensors, st.Variant, st.Path, float64(st.Bytes)/(1<<20), st.Why)
	}
	closeBase := bm.close
	bm.close = func() error {
		err := bm.model.Unpack()
		if cerr := closeBase(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

// adapterSpec is the task spec an adapter was trained for, with its labels.
func adapterSpec(c *adapter.FileConfig) (*task.Spec, error) {
	if c.Task == "tsv" {
		pc := task.DefaultPlain()
		if c.TaskName != "" {
			pc.Name = c.TaskName
		}
		pc.Regression = c.Regression
		if !c.Regression {
			pc.Labels = c.Labels
		}
		return task.Plain(pc)
	}
	spec, err := task.Lookup(c.Task)
	if err != nil {
		return nil, fmt.Errorf("adapter for task %q: %w", c.Task, err)
	}
	if spec.Regression != c.Regression || !slices.Equal(spec.Labels, c.Labels) {
		return nil, fmt.Errorf("adapter for task %s has labels %q (regression %v); the task has %q (regression %v)",
			c.Task, c.Labels, c.Regression, spec.Labels, spec.Regression)
	}
	return spec, nil
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
	return am.file.Config.MaxLen
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
