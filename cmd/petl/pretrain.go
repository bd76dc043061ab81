package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/pretrain"
	"github.com/petl-go/petl/wordpiece"
)

func init() {
	commands["pretrain"] = command{"pretrain a BERT from scratch with masked language modelling on a text corpus", runPretrain}
}

// EnvCorpus names the environment variable holding the corpus folder that
// scripts/corpus/build.sh writes (corpus.txt inside it).
const EnvCorpus = "PETL_CORPUS"

func runPretrain(ctx context.Context, args []string) error {
	def := pretrain.DefaultConfig(0)
	fs := newFlagSet("pretrain")
	corpus := fs.String("corpus", "", "corpus file: one sentence or paragraph per line, a blank line between documents (default $"+EnvCorpus+"/corpus.txt, then ~/.cache/petl/corpus/corpus.txt; build it with scripts/corpus/build.sh)")
	out := fs.String("out", "", "output folder: checkpoint-<step>/ folders in the Hugging Face layout")
	vocab := fs.String("vocab", defaultVocab, "vocabulary file (uncased WordPiece); with --init, by default the vocab.txt of that checkpoint")
	layers := fs.Int("layers", def.Model.NumLayers, "encoder layers (with --init, by default the checkpoint's)")
	hidden := fs.Int("hidden", def.Model.HiddenSize, "hidden size (with --init, by default the checkpoint's)")
	heads := fs.Int("heads", def.Model.NumHeads, "attention heads (with --init, by default the checkpoint's)")
	inter := fs.Int("intermediate", def.Model.IntermediateSize, "feed-forward size (with --init, by default the checkpoint's)")
	steps := fs.Int("steps", def.Steps, "optimizer steps")
	batch := fs.Int("batch", def.Batch, "sequences per step")
	maxLen := fs.Int("max-len", def.MaxLen, "tokens per sequence, [CLS] and [SEP] included")
	lr := fs.Float64("lr", def.LR, "peak learning rate (linear warm-up, then linear decay to 0)")
	warmup := fs.Float64("warmup", def.Warmup, "warm-up fraction of the steps")
	wd := fs.Float64("weight-decay", shortFloat(def.AdamW.WeightDecay), "AdamW weight decay (not on biases and layer norms)")
	clip := fs.Float64("max-grad-norm", def.MaxGradNorm, "clip the global gradient norm (0: no clipping)")
	seed := fs.Uint64("seed", def.Seed, "seed of the initialisation, sequence order, masking and dropout")
	threads := fs.Int("threads", 0, "threads for the kernels (0: the default)")
	resume := fs.Bool("resume", false, "continue from the newest checkpoint in --out (same flags and corpus)")
	evalEvery := fs.Int("eval-every", def.EvalEvery, "steps between held-out evaluations and checkpoints")
	evalSeqs := fs.Int("eval-seqs", def.EvalSeqs, "held-out sequences per evaluation")
	heldOut := fs.Float64("heldout", def.HeldOut, "fraction of the corpus documents held out for evaluation")
	twoSeg := fs.Float64("two-segments", def.TwoSegments, "probability that a packed sequence is split into two segments ([SEP], type ids 1)")
	sop := fs.Bool("sop", false, "add sentence-order prediction: half of the two-segment sequences are swapped and a head on the pooled [CLS] output learns to tell (trains the pooler; stored as cls.seq_relationship)")
	initFrom := fs.String("init", "", "start from the weights of this checkpoint folder (a fresh optimizer and schedule), not from random ones")
	keep := fs.Int("keep", 2, "checkpoints to keep (the newest)")
	logEvery := fs.Int("log-every", 0, "progress line every N steps (default: about 100 lines)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the training loop to this file")
	evalOnly := fs.Bool("eval-only", false, "only measure the --init checkpoint on the held-out text (--eval-seqs sequences, masked from --seed), with every chosen token [MASK]ed and with the masking of training; no training, no --out")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *evalOnly {
		switch {
		case *initFrom == "":
			return badFlag("--eval-only measures a checkpoint: pass it as --init DIR")
		case *out != "" || *resume:
			return badFlag("--eval-only writes nothing: leave out --out and --resume")
		}
	}
	if *initFrom != "" {
		// The flags left out default to the starting checkpoint's: the
		// vocabulary its embeddings index, and its shape.
		set := flagsSet(fs)
		if p := filepath.Join(*initFrom, "vocab.txt"); !set["vocab"] && isRegularFile(p) {
			*vocab = p
		}
		if c, err := bert.LoadConfig(filepath.Join(*initFrom, bert.ConfigFileName)); err == nil {
			for _, f := range []struct {
				name string
				p    *int
				v    int
			}{{"layers", layers, c.NumLayers}, {"hidden", hidden, c.HiddenSize}, {"heads", heads, c.NumHeads}, {"intermediate", inter, c.IntermediateSize}} {
				if !set[f.name] {
					*f.p = f.v
				}
			}
		}
	}
	if *out == "" && !*evalOnly {
		return badFlag("no output: pass --out DIR for the checkpoints")
	}
	if err := firstError(
		positive("layers", *layers),
		positive("hidden", *hidden),
		positive("heads", *heads),
		positive("intermediate", *inter),
		positive("steps", *steps),
		positive("batch", *batch),
		positive("eval-every", *evalEvery),
		positive("eval-seqs", *evalSeqs),
		positive("keep", *keep),
		nonNegative("log-every", *logEvery, "about 100 lines"),
		nonNegative("threads", *threads, "the default"),
		positiveFloat("lr", *lr),
		inRange("warmup", *warmup, 0, 1, true),
		nonNegativeFloat("weight-decay", *wd, "no decay"),
		nonNegativeFloat("max-grad-norm", *clip, "no clipping"),
		inRange("two-segments", *twoSeg, 0, 1, false),
	); err != nil {
		return err
	}
	if *hidden%*heads != 0 {
		return badFlag("--hidden %d is not a multiple of --heads %d", *hidden, *heads)
	}
	if *maxLen < 8 {
		return badFlag("--max-len %d: want at least 8", *maxLen)
	}
	if !(*heldOut > 0 && *heldOut < 1) {
		return badFlag("--heldout %s: want a fraction in (0, 1)", formatFloat(*heldOut))
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	path, err := corpusPath(*corpus)
	if err != nil {
		return err
	}
	// The corpus is read whole: a regular file (a named pipe would block,
	// a device never end).
	if st, err := os.Stat(path); err != nil {
		return fmt.Errorf("corpus: %w", err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("corpus %s: not a regular file (a %s): pass the corpus as a file", path, safefile.Kind(st.Mode()))
	}
	// The outputs, before any work.
	inputs := []inputFile{{"the corpus (--corpus)", path}, {"the vocabulary (--vocab)", *vocab}}
	if *initFrom != "" {
		inputs = append(inputs, checkpointInputs(*initFrom)...)
	}
	if !*evalOnly {
		for _, in := range inputs {
			if sameFile(*out, in.path) {
				return fmt.Errorf("--out %s is %s: pretrain writes checkpoint-N folders into a folder of its own; choose another", *out, in.what)
			}
		}
		if *initFrom != "" && (sameFile(*out, *initFrom) || sameFile(*out, filepath.Dir(filepath.Clean(*initFrom)))) {
			return fmt.Errorf("--out %s holds the --init model %s: pretrain replaces and prunes the checkpoints in --out; choose another folder", *out, *initFrom)
		}
		if err := checkPretrainFolder("--out "+*out, *out); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		if err := checkOutputFile("--cpuprofile "+*cpuProfile, *cpuProfile, profileKind, inputs); err != nil {
			return err
		}
	}
	v, err := wordpiece.LoadVocab(*vocab)
	if err != nil {
		return fmt.Errorf("%w (pass --vocab FILE)", err)
	}
	cfg := pretrain.DefaultConfig(v.Size())
	cfg.Model.NumLayers, cfg.Model.HiddenSize, cfg.Model.NumHeads, cfg.Model.IntermediateSize = *layers, *hidden, *heads, *inter
	cfg.VocabPath, cfg.Out = *vocab, *out
	cfg.Steps, cfg.Batch, cfg.MaxLen, cfg.LR, cfg.Warmup = *steps, *batch, *maxLen, *lr, *warmup
	cfg.AdamW.WeightDecay = float32(*wd)
	cfg.MaxGradNorm, cfg.Seed, cfg.Resume = *clip, *seed, *resume
	cfg.EvalEvery, cfg.EvalSeqs, cfg.HeldOut, cfg.TwoSegments, cfg.Keep = *evalEvery, *evalSeqs, *heldOut, *twoSeg, *keep
	cfg.SOP, cfg.Init = *sop, *initFrom
	cfg.Progress, cfg.LogEvery = os.Stderr, *logEvery

	t0 := time.Now()
	// Reading and tokenising the corpus does not watch ctx.
	docs, err := interruptible(ctx, func() ([]pretrain.Document, error) { return pretrain.ReadCorpus(path) }, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "read %s: %d documents\n", path, len(docs))
	tr, err := interruptible(ctx, func() (*pretrain.Trainer, error) { return pretrain.New(cfg, docs) }, nil)
	if err != nil {
		return err
	}
	docs = nil
	if *evalOnly {
		return pretrainEvalOnly(ctx, tr, *initFrom, *seed)
	}
	fmt.Fprintf(os.Stderr, "prepared in %s; model L%d H%d A%d I%d, batch %d x %d tokens, %d steps\n",
		time.Since(t0).Round(time.Millisecond), *layers, *hidden, *heads, *inter, *batch, *maxLen, *steps)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	last, _ := pretrain.LatestCheckpoint(*out)
	summary, _ := json.MarshalIndent(res, "", "  ")
	if werr := os.WriteFile(filepath.Join(*out, "pretrain_result.json"), append(summary, '\n'), 0o644); werr != nil {
		return werr
	}
	if n := len(res.Evals); n > 0 {
		e := res.Evals[n-1]
		fmt.Printf("pretrained %d steps in %s (%.0f tokens/s): held-out MLM loss %.4f, accuracy %.4f (unigram baseline loss %.4f); model %s\n",
			res.Steps, time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), res.TokensPerSec, e.Loss, e.Accuracy, res.Unigram, last)
	}
	return nil
}

// pretrainEvalOnly prints the held-out MLM figures of the --init weights
// with both maskings.
func pretrainEvalOnly(ctx context.Context, tr *pretrain.Trainer, model string, seed uint64) error {
	var strict, lenient pretrain.Eval
	_, err := interruptible(ctx, func() (struct{}, error) {
		strict, lenient = tr.Evaluate(false), tr.Evaluate(true)
		return struct{}{}, nil
	}, nil)
	if err != nil {
		return err
	}
	fmt.Printf("%s, held-out text, seed %d:\n", model, seed)
	fmt.Printf("  every chosen token [MASK]ed:  MLM loss %.4f accuracy %.4f (%d masked tokens)\n", strict.Loss, strict.Accuracy, strict.Tokens)
	fmt.Printf("  the masking of training:      MLM loss %.4f accuracy %.4f (%d masked tokens)\n", lenient.Loss, lenient.Accuracy, lenient.Tokens)
	fmt.Printf("  unigram distribution of the training text (first positions): MLM loss %.4f\n", tr.Unigram())
	return nil
}

// corpusPath resolves --corpus: the flag, then $PETL_CORPUS/corpus.txt, then
// the build script's default folder.
func corpusPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	var tried []string
	if d := os.Getenv(EnvCorpus); d != "" {
		tried = append(tried, filepath.Join(d, "corpus.txt"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		tried = append(tried, filepath.Join(home, ".cache", "petl", "corpus", "corpus.txt"))
	}
	for _, p := range tried {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no corpus: pass --corpus FILE or build one with scripts/corpus/build.sh (looked for %v)", tried)
}

// isRegularFile reports whether path names a regular file.
func isRegularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
