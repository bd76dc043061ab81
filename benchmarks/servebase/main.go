// Command servebase writes what the serving benchmark serves: a BERT
// checkpoint of the base or tiny shape with random weights (no pretrained
// BERT can be had where petl is built; speed does not depend on the
// values) over the real bert-base-uncased vocabulary, and one adapter per
// GLUE task of the request stream (Houlsby, bottleneck 64, random values,
// the task's labels), as petl train would write them.
//
//	go run ./benchmarks/servebase -size base -vocab ../shared/data/vocab/bert-base-uncased-vocab.txt -out /tmp/servebase
//
// The checkpoint lands in OUT, the adapters in OUT/adapters.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

func main() {
	size := flag.String("size", "base", "shape: base (L12 H768) or tiny (L2 H128)")
	vocab := flag.String("vocab", "../shared/data/vocab/bert-base-uncased-vocab.txt", "vocabulary (copied into the checkpoint)")
	out := flag.String("out", "", "output folder")
	flag.Parse()
	if err := run(*size, *vocab, *out); err != nil {
		fmt.Fprintln(os.Stderr, "servebase:", err)
		os.Exit(1)
	}
}

func run(size, vocab, out string) error {
	if out == "" {
		return fmt.Errorf("no -out folder")
	}
	cfg := bert.Config{VocabSize: 30522, MaxPositions: 512, TypeVocabSize: 2, HiddenAct: "gelu",
		LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
	switch size {
	case "base":
		cfg.NumLayers, cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize = 12, 768, 12, 3072
	case "tiny":
		cfg.NumLayers, cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize = 2, 128, 2, 512
	default:
		return fmt.Errorf("-size %q: want base or tiny", size)
	}
	m, err := bert.NewRandom(cfg, 0, 1)
	if err != nil {
		return err
	}
	if err := bert.WriteCheckpoint(out, cfg, m.Tensors()); err != nil {
		return err
	}
	data, err := os.ReadFile(vocab)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "vocab.txt"), data, 0o644); err != nil {
		return err
	}
	if err := wordpiece.WriteDoLowerCase(out, true); err != nil {
		return err
	}
	base, err := petl.Open(out, petl.Options{Pack: "off"})
	if err != nil {
		return err
	}
	defer base.Close()
	if err := os.MkdirAll(filepath.Join(out, "adapters"), 0o755); err != nil {
		return err
	}
	for i, key := range []string{"cola", "sst2", "mrpc", "stsb", "rte", "wnli"} {
		spec, err := task.Lookup(key)
		if err != nil {
			return err
		}
		v := base.NewModel()
		v.InitClassifier(spec.NumLabels(), uint64(i+1))
		s, err := adapter.Prepare(v, adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 64}}, uint64(i+1))
		if err != nil {
			return err
		}
		rng := nn.NewRNG(uint64(100 + i))
		for _, p := range s.Trainable {
			for j := range p.W {
				p.W[j] += float32(0.01 * rng.Normal())
			}
		}
		c := adapter.FileConfig{Task: spec.Key, TaskName: spec.Name, Labels: spec.Labels, Regression: spec.Regression,
			MaxLen: 128, Lowercase: true, Base: base.Identity(), TrainedParams: s.Trained, BaseParams: s.Base}
		c.SetPlan(s.Plan)
		if err := adapter.Save(filepath.Join(out, "adapters", key), c, s.Trainable); err != nil {
			return err
		}
	}
	return nil
}
