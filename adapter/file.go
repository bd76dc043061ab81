package adapter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/wordpiece"
)

// An adapter file is a pair: STEM.safetensors holds the trained tensors
// (adapter weights, trained layer norms, the head, and whatever else the
// method trained, under the model's parameter names) and STEM.json the
// configuration (FileConfig), which names the weights file and records its
// SHA-256. The configuration is the commit point: Save writes the new
// weights under a name of their own first, and a reader always finds the
// weights that the configuration it read names (see Save). Nothing in
// either file is trusted when read back (see FileConfig.Validate and
// Read).

// FormatName and FormatVersion identify petl's adapter file format.
// Version 2 records the base's vocabulary in its identity
// (Base.VocabFingerprint) and may name weights other than
// STEM.safetensors; version 1 files are read too.
const (
	FormatName    = "petl-adapter"
	FormatVersion = 2
)

// Paths returns the two files of the adapter named by path, which may be
// either file or their common stem: "sst2.safetensors", "sst2.json" and
// "sst2" all give ("sst2.safetensors", "sst2.json"). The weights are the
// file the configuration names (FileConfig.Weights): after a finished
// Save, the first; after a Save that was interrupted just after its
// commit, or on a file system without hard links,
// STEM.<hash>.safetensors.
func Paths(path string) (weights, config string) {
	stem := path
	for _, ext := range []string{".safetensors", ".json"} {
		if s, ok := strings.CutSuffix(path, ext); ok {
			stem = s
			break
		}
	}
	return stem + ".safetensors", stem + ".json"
}

// Training records how an adapter was trained (informational; loading does
// not depend on it).
type Training struct {
	Epochs      int                `json:"epochs"`
	LR          float64            `json:"lr"`
	Batch       int                `json:"batch"`
	Seed        uint64             `json:"seed"`
	Warmup      float64            `json:"warmup"`
	WeightDecay float64            `json:"weight_decay"`
	Beta1       float64            `json:"beta1"`
	Beta2       float64            `json:"beta2"`
	AdamEps     float64            `json:"adam_eps"`
	MaxGradNorm float64            `json:"max_grad_norm"`
	Limit       int                `json:"limit,omitempty"` // training examples used, when limited
	Examples    int                `json:"examples"`        // training examples seen per epoch
	Steps       int                `json:"steps"`           // optimiser steps done when this file was written
	Epoch       int                `json:"epoch"`           // epochs done when this file was written (1-based)
	Dev         map[string]float64 `json:"dev,omitempty"`   // dev metrics of these weights
}

// Base identifies the base model an adapter belongs to.
type Base struct {
	// Fingerprint identifies the base: bert.BaseFingerprint of its weights
	// and vocabulary (see Identify), or, in files from before the
	// vocabulary was part of it and for models built in memory without a
	// vocabulary, the weights alone (bert.Checkpoint.Fingerprint,
	// bert.Model.Fingerprint: the two agree on the same weights). Apply compares
	// it with the base's.
	Fingerprint string `json:"fingerprint"`
	// WeightsFingerprint and VocabFingerprint are the two parts of a
	// bert.BaseFingerprint, VocabTokens the vocabulary's size: recorded so
	// that a mismatch can say which part differs.
	WeightsFingerprint string `json:"weights_fingerprint,omitempty"`
	VocabFingerprint   string `json:"vocab_fingerprint,omitempty"`
	VocabTokens        int    `json:"vocab_tokens,omitempty"`
	// Name says where the base came from (a checkpoint directory, or
	// "random-tiny"), for messages.
	Name string `json:"name,omitempty"`
	// Seed is the initialisation seed of a base built by bert.NewRandom.
	Seed   uint64      `json:"seed,omitempty"`
	Config bert.Config `json:"config"`
}

// Identify is the identity of the base named name, of configuration cfg,
// whose weights have fingerprint weights (bert.Checkpoint.Fingerprint or
// bert.Model.Fingerprint) and whose vocabulary is v: its Fingerprint covers
// both (bert.BaseFingerprint), so an adapter trained on it refuses the
// same weights read with another vocabulary.
func Identify(name string, cfg bert.Config, weights string, v *wordpiece.Vocab) Base {
	return Base{
		Fingerprint:        bert.BaseFingerprint(weights, v),
		WeightsFingerprint: weights, VocabFingerprint: v.Fingerprint(), VocabTokens: v.Size(),
		Name: name, Config: cfg,
	}
}

// SameWeights reports whether b's weights are the ones whose fingerprint
// is weights (bert.Checkpoint.Fingerprint): for finding the base an
// adapter names, before its vocabulary is known.
func (b Base) SameWeights(weights string) bool {
	if b.WeightsFingerprint != "" {
		return b.WeightsFingerprint == weights
	}
	return b.Fingerprint == weights
}

// FileConfig is the JSON half of an adapter file.
type FileConfig struct {
	Format        string   `json:"format"`         // FormatName
	FormatVersion int      `json:"format_version"` // FormatVersion
	Method        Method   `json:"method"`
	Adapter       *Config  `json:"adapter,omitempty"`    // MethodAdapter only
	TopK          int      `json:"top_layers,omitempty"` // MethodTopK only
	TrainPooler   bool     `json:"train_pooler,omitempty"`
	Task          string   `json:"task"`      // task key ("sst2", "tsv")
	TaskName      string   `json:"task_name"` // display name ("SST-2")
	Regression    bool     `json:"regression,omitempty"`
	Labels        []string `json:"labels,omitempty"` // class names in class-index order
	MaxLen        int      `json:"max_len"`
	Lowercase     bool     `json:"lowercase"`
	Training      Training `json:"training"`
	Base          Base     `json:"base"`
	TrainedParams int      `json:"trained_params"`
	BaseParams    int      `json:"base_params"`
	Weights       string   `json:"weights"`        // the weights file's name, relative to the JSON file
	WeightsSHA256 string   `json:"weights_sha256"` // hex SHA-256 of the weights file
	Tensors       []string `json:"tensors"`        // the names in the weights file, sorted
}

// Plan returns the training plan the configuration describes.
func (c *FileConfig) Plan() Plan {
	p := Plan{Method: c.Method, TopK: c.TopK, TrainPooler: c.TrainPooler}
	if c.Adapter != nil {
		p.Adapter = *c.Adapter
	}
	return p
}

// NumLabels is the size of the head: the number of labels, 1 for regression.
func (c *FileConfig) NumLabels() int {
	if c.Regression {
		return 1
	}
	return len(c.Labels)
}

// SetPlan records plan in c (the fields Method, Adapter, TopK, TrainPooler).
func (c *FileConfig) SetPlan(plan Plan) {
	c.Method, c.TopK, c.TrainPooler, c.Adapter = plan.Method, 0, false, nil
	switch plan.Method {
	case MethodAdapter:
		a := plan.Adapter
		c.Adapter, c.TrainPooler = &a, plan.TrainPooler
	case MethodTopK:
		c.TopK = plan.TopK
	}
}

// File is an adapter file read into memory.
type File struct {
	Config  FileConfig
	Path    string               // the JSON file
	Tensors map[string][]float32 // by parameter name, on the heap
	Shapes  map[string][]int
}

// ReadConfig reads only the JSON half of the adapter at path (see Paths),
// a regular file of at most 4 MiB, and validates it (FileConfig.Validate).
func ReadConfig(path string) (FileConfig, error) {
	_, cPath := Paths(path)
	cfg, _, err := readConfig(cPath)
	return cfg, err
}

// readConfig reads and validates the configuration at cPath, returning
// its bytes too.
func readConfig(cPath string) (FileConfig, []byte, error) {
	var cfg FileConfig
	data, err := safefile.ReadFile(cPath, safefile.MaxAdapterJSON, "an adapter configuration")
	if err != nil {
		return cfg, nil, fmt.Errorf("adapter: %w", err)
	}
	cfg, err = parseConfig(data)
	if err != nil {
		return cfg, nil, fmt.Errorf("adapter: %s: %w", cPath, err)
	}
	return cfg, data, nil
}

// parseConfig decodes and validates a configuration.
func parseConfig(data []byte) (FileConfig, error) {
	var cfg FileConfig
	var head struct {
		Format        string `json:"format"`
		FormatVersion int    `json:"format_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return cfg, fmt.Errorf("not a petl adapter configuration: %w", err)
	}
	if head.Format != FormatName {
		return cfg, fmt.Errorf("format %q, want %q: not a petl adapter configuration", head.Format, FormatName)
	}
	if head.FormatVersion < 1 || head.FormatVersion > FormatVersion {
		return cfg, fmt.Errorf("format version %d; this petl reads versions 1 to %d", head.FormatVersion, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("not a petl adapter configuration: %w", err)
	}
	if dec.More() {
		return cfg, fmt.Errorf("not a petl adapter configuration: data after the JSON object")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// readAttempts is how often Read reads a pair that concurrent saves keep
// changing under it before giving up.
const readAttempts = 10

// Read reads the adapter at path (see Paths): its configuration, validated
// (FileConfig.Validate), and the weights file it names: a regular file in
// the same folder (a name with a path, or a symbolic link out of the
// folder, is refused), no larger than the tensors the configuration
// implies, whose SHA-256 is the one recorded, holding exactly those
// tensors with their shapes, every value finite. A pair that a concurrent
// Save is replacing is read again, so Read returns the old adapter or the
// new one.
func Read(path string) (*File, error) {
	_, cPath := Paths(path)
	var err error
	for i := range readAttempts {
		if i > 0 {
			time.Sleep(time.Duration(i) * time.Millisecond)
		}
		var cfg FileConfig
		var raw []byte
		cfg, raw, err = readConfig(cPath)
		if err != nil {
			return nil, err
		}
		var f *File
		f, err = readWeights(cPath, cfg)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errTorn) {
			return nil, err
		}
		// The configuration may have been replaced by a save meanwhile:
		// if so, read the new pair.
		now, rerr := safefile.ReadFile(cPath, safefile.MaxAdapterJSON, "an adapter configuration")
		if rerr != nil || bytes.Equal(now, raw) {
			return nil, err
		}
	}
	return nil, err
}

// errTorn marks a weights file whose SHA-256 is not the recorded one.
var errTorn = errors.New("torn pair")

// readWeights reads and checks the weights that cfg, read from cPath,
// names.
func readWeights(cPath string, cfg FileConfig) (*File, error) {
	want, err := cfg.ExpectedTensors()
	if err != nil {
		return nil, fmt.Errorf("adapter: %s: %w", cPath, err)
	}
	dir := filepath.Dir(cPath)
	wPath := filepath.Join(dir, cfg.Weights)
	data, err := safefile.ReadFileIn(dir, cfg.Weights, cfg.weightsLimit(want), "adapter weights")
	if err != nil {
		return nil, fmt.Errorf("adapter: weights of %s: %w", cPath, err)
	}
	return parseWeights(cPath, wPath, cfg, want, data)
}

// parseWeights checks the bytes data of the weights file wPath against
// cfg, read from cPath, whose tensors are want.
func parseWeights(cPath, wPath string, cfg FileConfig, want []bert.ExpectedTensor, data []byte) (*File, error) {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != cfg.WeightsSHA256 {
		return nil, fmt.Errorf("adapter: %s does not belong to %s (its SHA-256 is not the %s the configuration records): the pair was torn by an interrupted write or mixed from two runs: %w",
			wPath, cPath, cfg.WeightsSHA256, errTorn)
	}
	sf, err := safetensors.Parse(wPath, data)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	if err := checkSettings(&cfg, sf.Metadata()); err != nil {
		return nil, fmt.Errorf("adapter: %s: %w", cPath, err)
	}
	f := &File{Config: cfg, Path: cPath, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	names := sf.Names()
	if !slices.Equal(names, cfg.Tensors) {
		return nil, fmt.Errorf("adapter: %s holds tensors %q, its configuration lists %q", wPath, names, cfg.Tensors)
	}
	for _, t := range want {
		info, _ := sf.Info(t.Name)
		if !slices.Equal(info.Shape, t.Shape) {
			return nil, fmt.Errorf("adapter: %s: tensor %q has shape %v, method %s on the recorded base trains %v", wPath, t.Name, info.Shape, cfg.Method, t.Shape)
		}
		v, err := sf.Float32(t.Name)
		if err != nil {
			return nil, fmt.Errorf("adapter: %s: %w", wPath, err)
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("adapter: %s: tensor %q holds %v at index %d", wPath, t.Name, x, i)
			}
		}
		f.Tensors[t.Name], f.Shapes[t.Name] = v, slices.Clone(info.Shape)
	}
	return f, nil
}

// Apply puts the adapter onto m, a base model, and returns the setup. The
// base must be the one the adapter was trained on: a different fingerprint
// is an error naming both. fingerprint is the base's (its Base.Fingerprint:
// see Identify; or bert.Checkpoint.Fingerprint or bert.Model.Fingerprint for an
// adapter that records the weights alone). m must have the architecture
// the adapter records. m gets a head of the adapter's labels and, for
// MethodAdapter, its adapters; every tensor of the file replaces the
// parameter of that name. With train set the trained parameters stay
// trainable (to continue training); otherwise everything is frozen, for
// inference.
func (f *File) Apply(m *bert.Model, fingerprint string, train bool) (*Setup, error) {
	return f.ApplyTo(m, Base{Fingerprint: fingerprint}, train)
}

// ApplyTo is Apply with the base's whole identity (Identify), so that a
// mismatch says what differs: the weights, or only the vocabulary; and, for
// an adapter that records its base by the weights alone (written before
// the vocabulary was part of a base's identity), how to proceed.
func (f *File) ApplyTo(m *bert.Model, base Base, train bool) (*Setup, error) {
	cfg := &f.Config
	if base.Fingerprint != cfg.Base.Fingerprint {
		return nil, f.baseMismatch(base)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("adapter: %s: %w", f.Path, err)
	}
	if d := sameArchitecture(cfg.Base.Config, m.Config); d != "" {
		return nil, fmt.Errorf("adapter: %s records a base of %s", f.Path, d)
	}
	want, err := cfg.ExpectedTensors()
	if err != nil {
		return nil, fmt.Errorf("adapter: %s: %w", f.Path, err)
	}
	for _, t := range want {
		if !slices.Equal(f.Shapes[t.Name], t.Shape) || len(f.Tensors[t.Name]) != numel(t.Shape) {
			return nil, fmt.Errorf("adapter: %s: tensor %q has shape %v (%d values), method %s trains %v", f.Path, t.Name, f.Shapes[t.Name], len(f.Tensors[t.Name]), cfg.Method, t.Shape)
		}
	}
	m.InitClassifier(cfg.NumLabels(), 0)
	s, err := Prepare(m, cfg.Plan(), 0)
	if err != nil {
		return nil, fmt.Errorf("adapter: %s: %w", f.Path, err)
	}
	if len(s.Trainable) != len(f.Tensors) {
		return nil, fmt.Errorf("adapter: %s holds %d tensors, its method %s trains %d", f.Path, len(f.Tensors), cfg.Method, len(s.Trainable))
	}
	for _, p := range s.Trainable {
		v, ok := f.Tensors[p.Name]
		if !ok {
			return nil, fmt.Errorf("adapter: %s has no tensor %q, which method %s trains", f.Path, p.Name, cfg.Method)
		}
		if !slices.Equal(f.Shapes[p.Name], p.Shape) {
			return nil, fmt.Errorf("adapter: %s: tensor %q has shape %v, the model's parameter %v", f.Path, p.Name, f.Shapes[p.Name], p.Shape)
		}
		copy(p.W, v)
	}
	if !train {
		for _, p := range s.Trainable {
			p.SetTrainable(false, false)
		}
	}
	return s, nil
}

// baseMismatch explains why the adapter refuses the base given.
func (f *File) baseMismatch(given Base) error {
	rec := f.Config.Base
	name := rec.Name
	if name == "" {
		name = "unnamed"
	}
	oldForm := !strings.HasPrefix(rec.Fingerprint, bert.BaseFingerprintPrefix)
	switch {
	case oldForm && given.WeightsFingerprint != "" && given.WeightsFingerprint == rec.Fingerprint:
		return fmt.Errorf("adapter: %s records its base model %s by the weights alone (fingerprint %s; written before a base's identity covered its vocabulary). "+
			"The base given has those weights, but whether its vocabulary (%d tokens, %s) is the one the adapter was trained with cannot be told from the file. "+
			"If it is, record it: set \"fingerprint\" under \"base\" in %s to %q (the weights file stays as it is; adapter.Rebase does this); if not, use the vocabulary it was trained with",
			f.Path, name, rec.Fingerprint, given.VocabTokens, given.VocabFingerprint, f.Path, given.Fingerprint)
	case rec.WeightsFingerprint != "" && rec.WeightsFingerprint == given.WeightsFingerprint:
		return fmt.Errorf("adapter: %s was trained on base model %s (fingerprint %s) with another vocabulary: it had %d tokens (%s), the base given has %d (%s), so the same text would become other token ids: use the vocabulary it was trained with",
			f.Path, name, rec.Fingerprint, rec.VocabTokens, rec.VocabFingerprint, given.VocabTokens, given.VocabFingerprint)
	}
	return fmt.Errorf("adapter: %s was trained on base model %s (fingerprint %s), but the base model given has fingerprint %s: use the base it was trained on",
		f.Path, name, rec.Fingerprint, given.Fingerprint)
}
