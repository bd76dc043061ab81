package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/models"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// envModel names the default base model folder when --model is not given.
const envModel = "PETL_MODEL"

// modelDir resolves a --model value: the value itself when given, else
// $PETL_MODEL, else the shipped BERT-tiny (models.TinyDir: embedded in the
// binary and written to the user's cache on first use), so that petl finds
// a model from any directory.
func modelDir(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv(envModel); env != "" {
		return env, nil
	}
	dir, err := models.TinyDir()
	if err != nil {
		return "", fmt.Errorf("no model: %w (pass --model DIR, a BERT checkpoint directory with config.json, model.safetensors and vocab.txt)", err)
	}
	return dir, nil
}

// baseModel is a loaded base model for training: a fresh view of it (the
// model to train), its tokenizer and identity.
type baseModel struct {
	front *petl.Base
	model *bert.Model // a view of front's base: trained parameters are its own
	tok   *wordpiece.Tokenizer
	base  adapter.Base
	close func() error
}

// loadBase loads the base model named by model (see modelDir; or
// "random-tiny", initialised from seed over the vocabulary at vocab or
// defaultVocab). lower is "auto", "true" or "false" (see petl.Options).
func loadBase(model, vocab string, seed uint64, lower string) (*baseModel, error) {
	b, err := openFront(model, vocab, seed, lower, weightsMode{pack: "off"})
	if err != nil {
		return nil, err
	}
	return &baseModel{front: b, model: b.NewModel(), tok: b.Tokenizer(), base: b.Identity(), close: b.Close}, nil
}

// weightsMode is how a base's frozen dense weights are prepared: packed
// as pack says (petl.Options.Pack), in the precision given
// (petl.Options.Precision).
type weightsMode struct {
	pack, precision string
}

// openFront opens the base named by model through the front door, its
// weights prepared as w says.
func openFront(model, vocab string, seed uint64, lower string, w weightsMode) (*petl.Base, error) {
	opts := petl.Options{Vocab: vocab, Lowercase: lower, Pack: w.pack, Precision: w.precision, Warn: os.Stderr}
	if model == randomTiny {
		if vocab == "" {
			vocab = defaultVocab
		}
		v, err := wordpiece.LoadVocab(vocab)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s needs a WordPiece vocabulary: %w (pass --vocab FILE, e.g. bert-base-uncased's vocab.txt)", randomTiny, err)
			}
			return nil, err
		}
		m, err := bert.NewRandom(bert.TinyConfig(v.Size()), 0, seed)
		if err != nil {
			return nil, err
		}
		return petl.NewBase(m, v, adapter.Base{Name: randomTiny, Seed: seed}, opts)
	}
	dir, err := modelDir(model)
	if err != nil {
		return nil, err
	}
	return petl.Open(dir, opts)
}

// adaptedModel is a base model with one adapter loaded, and the adapter's
// task.
type adaptedModel struct {
	front *petl.Base
	task  *petl.Task
	file  adapter.FileConfig
	spec  *task.Spec
	model *bert.Model // the task's view
	tok   *wordpiece.Tokenizer
	close func() error
}

// loadAdapted reads the adapter at path and loads it onto the base model
// named by model; without one, onto the base the adapter records (see
// adapterBase). lower must agree with the adapter's casing unless "auto".
func loadAdapted(model, vocab, lower, path string, w weightsMode) (*adaptedModel, error) {
	if path == "" {
		return nil, fmt.Errorf("no adapter: pass --adapter FILE (written by petl train --out FILE)")
	}
	f, err := adapter.Read(path)
	if err != nil {
		return nil, err
	}
	if model == "" {
		if model, err = adapterBase(f); err != nil {
			return nil, err
		}
	}
	b, err := openFront(model, vocab, f.Config.Base.Seed, lower, w)
	if err != nil {
		return nil, err
	}
	t, err := b.Add(f.Config.Task, f)
	if err != nil {
		b.Close()
		if !strings.HasPrefix(f.Config.Base.Fingerprint, bert.BaseFingerprintPrefix) && f.Config.Base.SameWeights(b.Identity().WeightsFingerprint) {
			// An adapter of before the vocabulary was part of a base's
			// identity, on its weights.
			return nil, fmt.Errorf("%w\n(if this base's vocabulary is the one it was trained with, petl rebase --adapter %s records it)", err, path)
		}
		return nil, err
	}
	return &adaptedModel{front: b, task: t, file: f.Config, spec: t.Spec(), model: t.Model(), tok: t.Tokenizer(), close: b.Close}, nil
}

// adapterBase finds the base an adapter records when --model is not given:
// random-tiny (rebuilt from its seed), the folder it names when that
// exists, else $PETL_MODEL or the shipped model when its fingerprint is the
// adapter's.
func adapterBase(f *adapter.File) (string, error) {
	b := f.Config.Base
	if b.Name == randomTiny {
		return randomTiny, nil
	}
	if b.Name != "" && isRegularFile(filepath.Join(b.Name, bert.ConfigFileName)) {
		return b.Name, nil
	}
	dir, err := modelDir("")
	if err != nil {
		return "", err
	}
	ck, err := bert.OpenCheckpoint(dir)
	if err != nil {
		return "", err
	}
	fp := ck.Fingerprint()
	ck.Close()
	if !b.SameWeights(fp) {
		return "", fmt.Errorf("adapter %s was trained on base model %q (fingerprint %s), which is not here, and the default model %s is another: pass --model DIR",
			f.Path, b.Name, b.Fingerprint, dir)
	}
	return dir, nil
}
