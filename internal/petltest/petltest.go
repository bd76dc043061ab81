// Package petltest builds small bases and adapters for the tests of the
// front door and of the server: a random BERT of hidden size 16 over a
// vocabulary of twenty words, and adapter files "trained" by moving every
// trainable parameter at random.
package petltest

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/require"
)

// Words make the vocabulary of the test bases (after the specials).
var Words = []string{"the", "film", "was", "good", "bad", "a", "plot", "dull", "great", "movie", "is", "not", "it", "and", "so", "##s", "##ly", "fun", "sad", "man"}

// Plans are the methods the test tasks are trained with: single texts
// (sst2, cola), pairs (mrpc) and regression on pairs (stsb), under
// Houlsby and Pfeiffer adapters (one with a trained pooler), layer norms
// and head, and the top layer.
var Plans = map[string]adapter.Plan{
	"sst2": {Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 4}},
	"cola": {Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 2, Placement: adapter.Pfeiffer}, TrainPooler: true},
	"mrpc": {Method: adapter.MethodLNHead},
	"stsb": {Method: adapter.MethodTopK, TopK: 1},
}

// Base is a small random base (2 layers, hidden 16, 64 positions) over
// Words, initialised from seed, closed when the test ends.
func Base(t testing.TB, seed uint64) *petl.Base {
	t.Helper()
	v, err := wordpiece.NewVocab(append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, Words...))
	require.NoError(t, err)
	cfg := bert.Config{VocabSize: v.Size(), HiddenSize: 16, NumLayers: 2, NumHeads: 2, IntermediateSize: 32,
		MaxPositions: 64, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1}
	m, err := bert.NewRandom(cfg, 0, seed)
	require.NoError(t, err)
	b, err := petl.NewBase(m, v, adapter.Base{Name: "test", Seed: seed}, petl.Options{Pack: "off"})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// WriteAdapter "trains" an adapter for the GLUE task key on b with plan
// (every trainable parameter moved at random from seed) and writes it at
// path (adapter.Paths: path.json and path.safetensors), with max_len 24.
func WriteAdapter(t testing.TB, b *petl.Base, path, key string, plan adapter.Plan, seed uint64) string {
	t.Helper()
	spec, err := task.Lookup(key)
	require.NoError(t, err)
	m := b.NewModel()
	m.InitClassifier(spec.NumLabels(), seed)
	s, err := adapter.Prepare(m, plan, seed)
	require.NoError(t, err)
	rng := nn.NewRNG(seed + 100)
	for _, p := range s.Trainable {
		for i := range p.W {
			p.W[i] += float32(0.3 * rng.Normal())
		}
	}
	c := adapter.FileConfig{
		Task: spec.Key, TaskName: spec.Name, Labels: spec.Labels, Regression: spec.Regression,
		MaxLen: 24, Lowercase: true, Base: b.Identity(), TrainedParams: s.Trained, BaseParams: s.Base,
	}
	c.SetPlan(s.Plan)
	require.NoError(t, adapter.Save(path, c, s.Trainable))
	return path
}

// WriteAdapterIn is WriteAdapter with the task's plan from Plans, at
// dir/name.
func WriteAdapterIn(t testing.TB, b *petl.Base, dir, name, key string, seed uint64) string {
	t.Helper()
	return WriteAdapter(t, b, filepath.Join(dir, name), key, Plans[key], seed)
}

// Sentence is a text of n words drawn from Words.
func Sentence(rng *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = Words[rng.IntN(len(Words))]
	}
	return strings.Join(w, " ")
}
