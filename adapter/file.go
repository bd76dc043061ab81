package adapter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/bert/safetensors"
	"github.com/petl-go/petl/nn"
)

// An adapter file is a pair: STEM.safetensors holds the trained tensors
// (adapter weights, trained layer norms, the head, and whatever else the
// method trained, under the model's parameter names) and STEM.json the
// configuration (FileConfig). Both are written atomically, weights first;
// the configuration records the SHA-256 of the weights file, so a pair torn
// by a crash between the two writes is detected on loading.

// FormatName and FormatVersion identify petl's adapter file format.
const (
	FormatName    = "petl-adapter"
	FormatVersion = 1
)

// Paths returns the two files of the adapter named by path, which may be
// either file or their common stem: "sst2.safetensors", "sst2.json" and
// "sst2" all give ("sst2.safetensors", "sst2.json").
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
	// Fingerprint is bert.Checkpoint.Fingerprint of the base, or
	// ModelFingerprint for a model built in memory (the two agree on the
	// same weights).
	Fingerprint string `json:"fingerprint"`
	// Name says where the base came from (a checkpoint directory, or
	// "random-tiny"), for messages.
	Name string `json:"name,omitempty"`
	// Seed is the initialisation seed of a base built by bert.NewRandom.
	Seed   uint64      `json:"seed,omitempty"`
	Config bert.Config `json:"config"`
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

// Save writes the adapter file at path (see Paths) from cfg and the
// trained parameters params (normally Setup.Trainable), atomically: the
// weights first, then the configuration, each through a synced temporary
// file renamed into place. cfg's Format, FormatVersion, Weights,
// WeightsSHA256 and Tensors are filled in here.
func Save(path string, cfg FileConfig, params []*nn.Param) error {
	wPath, cPath := Paths(path)
	tensors := make([]safetensors.Tensor, 0, len(params))
	cfg.Tensors = cfg.Tensors[:0:0]
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("adapter: saving %s: parameter %q given twice", wPath, p.Name)
		}
		seen[p.Name] = true
		tensors = append(tensors, safetensors.F32Tensor(p.Name, slices.Clone(p.Shape), p.W))
		cfg.Tensors = append(cfg.Tensors, p.Name)
	}
	slices.Sort(cfg.Tensors)
	cfg.Format, cfg.FormatVersion = FormatName, FormatVersion
	data, err := safetensors.Encode(tensors, map[string]string{
		"format":           FormatName,
		"format_version":   strconv.Itoa(FormatVersion),
		"base_fingerprint": cfg.Base.Fingerprint,
		"task":             cfg.Task,
		"method":           string(cfg.Method),
	})
	if err != nil {
		return fmt.Errorf("adapter: saving %s: %w", wPath, err)
	}
	sum := sha256.Sum256(data)
	cfg.Weights = filepath.Base(wPath)
	cfg.WeightsSHA256 = hex.EncodeToString(sum[:])
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("adapter: saving %s: %w", cPath, err)
	}
	js = append(js, '\n')
	if err := safetensors.WriteAtomic(wPath, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	if err := safetensors.WriteAtomic(cPath, func(w io.Writer) error { _, err := w.Write(js); return err }); err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	return nil
}

// File is an adapter file read into memory.
type File struct {
	Config  FileConfig
	Path    string               // the JSON file
	Tensors map[string][]float32 // by parameter name, on the heap
	Shapes  map[string][]int
}

// ReadConfig reads only the JSON half of the adapter at path (see Paths).
func ReadConfig(path string) (FileConfig, error) {
	_, cPath := Paths(path)
	var cfg FileConfig
	data, err := os.ReadFile(cPath)
	if err != nil {
		return cfg, fmt.Errorf("adapter: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("adapter: %s is not a petl adapter configuration: %w", cPath, err)
	}
	if cfg.Format != FormatName {
		return cfg, fmt.Errorf("adapter: %s has format %q, want %q", cPath, cfg.Format, FormatName)
	}
	if cfg.FormatVersion != FormatVersion {
		return cfg, fmt.Errorf("adapter: %s has format version %d; this petl reads version %d", cPath, cfg.FormatVersion, FormatVersion)
	}
	if err := cfg.Plan().Validate(cfg.Base.Config.NumLayers); err != nil {
		return cfg, fmt.Errorf("adapter: %s: %w", cPath, err)
	}
	if cfg.NumLabels() < 1 {
		return cfg, fmt.Errorf("adapter: %s has no labels", cPath)
	}
	return cfg, nil
}

// Read reads the adapter at path (see Paths): its configuration and its
// weights, checking that they belong together (the weights file's SHA-256
// and tensor names are the ones the configuration records) and that every
// value is finite.
func Read(path string) (*File, error) {
	cfg, err := ReadConfig(path)
	if err != nil {
		return nil, err
	}
	_, cPath := Paths(path)
	wPath := filepath.Join(filepath.Dir(cPath), cfg.Weights)
	data, err := os.ReadFile(wPath)
	if err != nil {
		return nil, fmt.Errorf("adapter: weights of %s: %w", cPath, err)
	}
	sum := sha256.Sum256(data)
	data = nil
	if got := hex.EncodeToString(sum[:]); got != cfg.WeightsSHA256 {
		return nil, fmt.Errorf("adapter: %s does not belong to %s (its SHA-256 is %s, the configuration says %s): the pair was torn by an interrupted write or mixed from two runs",
			wPath, cPath, got, cfg.WeightsSHA256)
	}
	sf, err := safetensors.Open(wPath)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	defer sf.Close()
	f := &File{Config: cfg, Path: cPath, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	names := sf.Names()
	slices.Sort(names)
	if !slices.Equal(names, cfg.Tensors) {
		return nil, fmt.Errorf("adapter: %s holds tensors %q, its configuration lists %q", wPath, names, cfg.Tensors)
	}
	for _, name := range names {
		info, _ := sf.Info(name)
		v, err := sf.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("adapter: %s: %w", wPath, err)
		}
		v = slices.Clone(v)
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("adapter: %s: tensor %q holds %v at index %d", wPath, name, x, i)
			}
		}
		f.Tensors[name], f.Shapes[name] = v, slices.Clone(info.Shape)
	}
	return f, nil
}

// Apply puts the adapter onto m, a base model, and returns the setup. The
// base must be the one the adapter was trained on: a different fingerprint
// is an error naming both. fingerprint is the base's (bert.Checkpoint.
// Fingerprint or ModelFingerprint). m gets a head of the adapter's labels
// and, for MethodAdapter, its adapters; every tensor of the file replaces
// the parameter of that name. With train set the trained parameters stay
// trainable (to continue training); otherwise everything is frozen, for
// inference.
func (f *File) Apply(m *bert.Model, fingerprint string, train bool) (*Setup, error) {
	cfg := &f.Config
	if fingerprint != cfg.Base.Fingerprint {
		base := cfg.Base.Name
		if base == "" {
			base = "unnamed"
		}
		return nil, fmt.Errorf("adapter: %s was trained on base model %s (fingerprint %s), but the base model given has fingerprint %s: use the base it was trained on",
			f.Path, base, cfg.Base.Fingerprint, fingerprint)
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

// ModelFingerprint is the fingerprint of m's base weights: bert.Fingerprint
// over its parameters, so that a model built in memory (bert.NewRandom) and
// the same weights written as a checkpoint have the same fingerprint (a test
// checks that the two agree). Call it before training changes any base
// weight.
func ModelFingerprint(m *bert.Model) string {
	return bert.Fingerprint(m.Config, paramSource(m.Params()))
}

// paramSource serves a model's parameters by name as a bert.TensorSource.
type paramSource []*nn.Param

// Tensor returns the values of the parameter called name, checking its shape.
func (ps paramSource) Tensor(name string, shape ...int) ([]float32, error) {
	for _, p := range ps {
		if p.Name == name {
			if !slices.Equal(p.Shape, shape) {
				return nil, fmt.Errorf("parameter %q has shape %v, want %v", name, p.Shape, shape)
			}
			return p.W, nil
		}
	}
	return nil, fmt.Errorf("no parameter %q", name)
}
