package adapter

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/bert"
)

// The fuzz targets of the adapter file, read from outside: its JSON half
// and its weights. Neither may panic, and what Read accepts must apply to
// a model of the recorded base. Seeds: the shipped adapters, a saved
// tiny adapter under every method, and testdata/fuzz/<name>/.

// fuzzSaved saves the tiny adapter of plan in a temporary folder and
// returns its configuration's and weights' bytes.
func fuzzSaved(f *testing.F, plan Plan) (js, weights []byte) {
	m, err := bert.NewRandom(tinyConfig(), 2, 11)
	if err != nil {
		f.Fatal(err)
	}
	s, err := Prepare(m, plan, 3)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "a")
	if err := Save(path, fileConfig(m, s, m.Fingerprint()), s.Trainable); err != nil {
		f.Fatal(err)
	}
	w, c := Paths(path)
	js, _ = os.ReadFile(c)
	weights, _ = os.ReadFile(w)
	return js, weights
}

var fuzzPlans = []Plan{
	{Method: MethodAdapter, Adapter: Config{Size: 3}},
	{Method: MethodAdapter, Adapter: Config{Size: 2, Placement: Pfeiffer, Activation: Tanh}, TrainPooler: true},
	{Method: MethodTopK, TopK: 1},
	{Method: MethodLNHead},
	{Method: MethodFull},
}

// FuzzConfig parses arbitrary bytes as an adapter configuration: an
// error, or one whose implied tensors and weights size are bounded and
// whose plan prepares a model of its base.
func FuzzConfig(f *testing.F) {
	for _, name := range []string{"sst2", "mrpc"} {
		if b, err := os.ReadFile(filepath.Join("..", "models", "adapters", name+".json")); err == nil {
			f.Add(b)
		}
	}
	for _, p := range fuzzPlans {
		js, _ := fuzzSaved(f, p)
		f.Add(js)
	}
	f.Add([]byte(`{"format":"petl-adapter","format_version":2,"method":"adapter","adapter":{"Size":1099511627776}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig(data)
		if err != nil {
			return
		}
		ts, err := cfg.ExpectedTensors()
		if err != nil {
			t.Fatalf("valid configuration without tensors: %v", err)
		}
		if lim := cfg.weightsLimit(ts); lim <= 0 || lim > 2*maxWeightsBytes {
			t.Fatalf("weights limit %d", lim)
		}
		if cfg.Base.Config.VocabSize*cfg.Base.Config.HiddenSize > 1<<16 || cfg.Base.Config.NumLayers > 4 ||
			cfg.Base.Config.IntermediateSize*cfg.Base.Config.HiddenSize > 1<<16 || cfg.Base.Config.MaxPositions*cfg.Base.Config.HiddenSize > 1<<16 ||
			cfg.NumLabels()*cfg.Base.Config.HiddenSize > 1<<16 {
			return // too big a model to build on every input
		}
		m, err := bert.NewRandom(cfg.Base.Config, 0, 1)
		if err != nil {
			t.Fatalf("a valid base config that does not build: %v", err)
		}
		m.InitClassifier(cfg.NumLabels(), 0)
		s, err := Prepare(m, cfg.Plan(), 0)
		if err != nil {
			t.Fatalf("a valid plan that does not prepare: %v", err)
		}
		if s.Trained != cfg.TrainedParams {
			t.Fatalf("trained %d, configuration %d", s.Trained, cfg.TrainedParams)
		}
	})
}

// FuzzWeights reads arbitrary bytes as the weights of a valid adapter
// configuration (with their SHA-256, so that the checks past it run; the
// file checks before it are TestReadWeightsConfined's): an error, or a
// file that applies to the tiny model.
func FuzzWeights(f *testing.F) {
	var base []byte
	for i, p := range fuzzPlans[:2] {
		js, w := fuzzSaved(f, p)
		if i == 0 {
			base = js
		}
		f.Add(w)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	cfg, err := parseConfig(base)
	if err != nil {
		f.Fatal(err)
	}
	want, err := cfg.ExpectedTensors()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, w []byte) {
		c := cfg
		sum := sha256.Sum256(w)
		c.WeightsSHA256 = hex.EncodeToString(sum[:])
		if int64(len(w)) > c.weightsLimit(want) {
			return // refused before reading
		}
		file, err := parseWeights("a.json", "a.safetensors", c, want, w)
		if err != nil {
			return
		}
		m := tinyModel(t, 0)
		if _, err := file.Apply(m, file.Config.Base.Fingerprint, false); err != nil {
			t.Fatalf("Read accepted weights that do not apply: %v", err)
		}
	})
}
