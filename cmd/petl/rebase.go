package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
)

func init() {
	commands["rebase"] = command{"record a base's full identity (weights, config and vocabulary) in an adapter that records the weights alone", runRebase}
}

func runRebase(ctx context.Context, args []string) error {
	fs := newFlagSet("rebase")
	path := fs.String("adapter", "", "adapter `file` to update (its configuration only: the weights file stays as it is)")
	model := fs.String("model", "", "base model: the checkpoint directory the adapter was trained on, or "+randomTiny+" (default: the base the adapter records, when it is found: its folder, $"+envModel+" or the shipped model)")
	vocab := fs.String("vocab", "", "the vocabulary `file` the adapter was trained with (default: the model's vocab.txt; for "+randomTiny+" "+defaultVocab+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return badFlag("no adapter: pass --adapter FILE")
	}
	_, cPath := adapter.Paths(*path)
	cfg, err := adapter.ReadConfig(*path)
	if err != nil {
		return err
	}
	if strings.HasPrefix(cfg.Base.Fingerprint, bert.BaseFingerprintPrefix) {
		fmt.Fprintf(errOut, "%s already records its base with the vocabulary (%s): nothing to do\n", cPath, cfg.Base.Fingerprint)
		return nil
	}
	if *model == "" {
		if *model, err = adapterBase(&adapter.File{Config: cfg, Path: cPath}); err != nil {
			return err
		}
	}
	b, err := interruptible(ctx, func() (*petl.Base, error) {
		return openFront(*model, *vocab, cfg.Base.Seed, "auto", weightsMode{pack: "off"})
	}, func(b *petl.Base) { b.Close() })
	if err != nil {
		return err
	}
	defer b.Close()
	ident := b.Identity()
	if err := adapter.Rebase(*path, ident); err != nil {
		return err
	}
	vpath := *vocab
	switch {
	case vpath != "":
	case b.Dir() != "":
		vpath = filepath.Join(b.Dir(), "vocab.txt")
	default:
		vpath = defaultVocab
	}
	fmt.Fprintf(os.Stdout, "%s: base %s recorded (weights %s; vocabulary %s, %d tokens)\n", cPath, ident.Fingerprint, ident.WeightsFingerprint, vpath, ident.VocabTokens)
	return nil
}
