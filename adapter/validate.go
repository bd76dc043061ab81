package adapter

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/petl-go/petl/bert"
)

// An adapter file is read from outside: nothing in it is trusted. Before
// anything is allocated from its numbers, Validate checks every field
// against the base configuration it records (which must itself be valid),
// and works out from the method and that configuration the exact tensors
// the weights file must hold, with their shapes; their size bounds how
// much of the weights file is read.

// Limits of an adapter configuration.
const (
	// MaxLabels bounds the classes of a head.
	MaxLabels = 1 << 16
	// maxName bounds task and label names, in bytes.
	maxName = 256
	// maxWeightsBytes bounds the weights a configuration may imply (1 TiB:
	// far above a fully fine-tuned BERT-large's 1.3 GiB).
	maxWeightsBytes = 1 << 40
)

// fingerprintRE matches the two forms of a base fingerprint: weights and
// config alone ("sha256:", bert.Fingerprint) and with the vocabulary
// (bert.BaseFingerprint).
var fingerprintRE = regexp.MustCompile(`^(` + regexp.QuoteMeta(bert.BaseFingerprintPrefix) + `|sha256:)[0-9a-f]{64}$`)

// sha256RE matches a hex SHA-256.
var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks c as Read does before reading any weights: the format;
// the recorded base configuration (bert.Config.Validate); the method and
// its numbers against that base (adapter size 1..hidden size, a known
// placement and nonlinearity, an initial standard deviation in (0, 1],
// top layers 0..layers); 1 to MaxLabels distinct, non-empty labels
// without tabs, line breaks or NUL (none for regression); max_len
// 3..max_position_embeddings; the base's fingerprints in a known form and
// its vocabulary no larger than its embeddings; the weights' name a plain
// file name ending in .safetensors and their SHA-256 in hex; the tensor
// list exactly the tensors the method trains on that base; and
// trained_params and base_params their parameter counts. Errors say which
// field and what was wanted.
func (c *FileConfig) Validate() error {
	if c.Format != FormatName {
		return fmt.Errorf("format %q, want %q", c.Format, FormatName)
	}
	if c.FormatVersion < 1 || c.FormatVersion > FormatVersion {
		return fmt.Errorf("format version %d; this petl reads versions 1 to %d", c.FormatVersion, FormatVersion)
	}
	bc := c.Base.Config
	if err := bc.Validate(); err != nil {
		return fmt.Errorf("base config: %w", err)
	}
	if err := c.checkMethod(bc); err != nil {
		return err
	}
	if err := c.checkLabels(); err != nil {
		return err
	}
	if c.MaxLen < 3 || c.MaxLen > bc.MaxPositions {
		return fmt.Errorf("max_len %d, want 3..%d ([CLS] a [SEP] or [CLS] a [SEP] b [SEP] within the base's max_position_embeddings)", c.MaxLen, bc.MaxPositions)
	}
	if err := c.checkStrings(); err != nil {
		return err
	}
	if err := c.checkBase(); err != nil {
		return err
	}
	if !strings.HasSuffix(c.Weights, ".safetensors") || strings.ContainsAny(c.Weights, "/\\\x00") || c.Weights == ".safetensors" {
		return fmt.Errorf("weights %q, want the plain name of a .safetensors file in the configuration's folder", c.Weights)
	}
	if !sha256RE.MatchString(c.WeightsSHA256) {
		return fmt.Errorf("weights_sha256 %q, want 64 lower-case hex digits", c.WeightsSHA256)
	}
	want, err := c.ExpectedTensors()
	if err != nil {
		return err
	}
	names := make([]string, len(want))
	trained := 0
	for i, t := range want {
		names[i] = t.Name
		trained += numel(t.Shape)
	}
	slices.Sort(names)
	if !slices.Equal(names, c.Tensors) {
		missing, extra := diff(names, c.Tensors)
		return fmt.Errorf("tensors: method %s on this base trains %d tensors, the list has %d (missing %q, unexpected %q)",
			c.Method, len(names), len(c.Tensors), missing, extra)
	}
	if c.TrainedParams != trained {
		return fmt.Errorf("trained_params %d, but method %s on this base trains %d", c.TrainedParams, c.Method, trained)
	}
	base := 0
	for _, t := range bc.BaseTensors() {
		base += numel(t.Shape)
	}
	if c.BaseParams != base {
		return fmt.Errorf("base_params %d, but the base config has %d", c.BaseParams, base)
	}
	tr := c.Training
	for _, v := range []struct {
		key string
		n   int
	}{{"epochs", tr.Epochs}, {"batch", tr.Batch}, {"limit", tr.Limit}, {"examples", tr.Examples}, {"steps", tr.Steps}, {"epoch", tr.Epoch}} {
		if v.n < 0 {
			return fmt.Errorf("training.%s %d is negative", v.key, v.n)
		}
	}
	return nil
}

// checkMethod checks the method and its numbers against the base.
func (c *FileConfig) checkMethod(bc bert.Config) error {
	switch c.Method {
	case MethodAdapter:
		a := c.Adapter
		if a == nil {
			return fmt.Errorf("method adapter without an \"adapter\" object (its size, placement, nonlinearity)")
		}
		if a.Size < 1 || a.Size > bc.HiddenSize {
			return fmt.Errorf("adapter size %d, want 1..%d (the base's hidden size: an adapter projects down)", a.Size, bc.HiddenSize)
		}
		if _, err := ParsePlacement(string(a.Placement)); err != nil {
			return err
		}
		if _, err := ParseActivation(string(a.Activation)); err != nil {
			return err
		}
		if !(a.InitStd >= 0 && a.InitStd <= 1) {
			return fmt.Errorf("adapter InitStd %v, want 0 (the default) to 1", a.InitStd)
		}
	case MethodTopK:
		if c.TopK < 0 || c.TopK > bc.NumLayers {
			return fmt.Errorf("top_layers %d, want 0..%d (the base's layers)", c.TopK, bc.NumLayers)
		}
	case MethodFull, MethodLNHead:
	default:
		return fmt.Errorf("unknown method %q (want adapter, full, top-k or ln-head)", c.Method)
	}
	if c.Method != MethodAdapter && c.Adapter != nil {
		return fmt.Errorf("an \"adapter\" object with method %s", c.Method)
	}
	if c.Method != MethodTopK && c.TopK != 0 {
		return fmt.Errorf("top_layers %d with method %s", c.TopK, c.Method)
	}
	if c.Method != MethodAdapter && c.TrainPooler {
		return fmt.Errorf("train_pooler with method %s (only adapter has the choice)", c.Method)
	}
	return nil
}

// checkLabels checks the class names.
func (c *FileConfig) checkLabels() error {
	if c.Regression {
		if len(c.Labels) > 0 {
			return fmt.Errorf("a regression task with %d labels", len(c.Labels))
		}
		return nil
	}
	return CheckLabels(c.Labels)
}

// CheckLabels checks class names as Validate (and so Save) does: 1 to
// MaxLabels distinct names of at most 256 bytes of UTF-8, without tabs,
// line breaks or NUL. A training run whose labels come from its data
// checks them with it before its first step, rather than failing to save
// after its last.
func CheckLabels(labels []string) error {
	if len(labels) < 1 || len(labels) > MaxLabels {
		return fmt.Errorf("%d labels, want 1..%d", len(labels), MaxLabels)
	}
	seen := make(map[string]int, len(labels))
	for i, l := range labels {
		if err := checkName(l); err != nil {
			return fmt.Errorf("label %d %q: %w", i, abbrev(l), err)
		}
		if j, dup := seen[l]; dup {
			return fmt.Errorf("label %q is both class %d and class %d", l, j, i)
		}
		seen[l] = i
	}
	return nil
}

// checkStrings checks the task's names.
func (c *FileConfig) checkStrings() error {
	if c.Task == "" {
		return fmt.Errorf("no task")
	}
	for _, s := range []struct{ key, v string }{{"task", c.Task}, {"task_name", c.TaskName}} {
		if s.v == "" {
			continue
		}
		if err := checkName(s.v); err != nil {
			return fmt.Errorf("%s %q: %w", s.key, abbrev(s.v), err)
		}
	}
	return nil
}

// checkName checks a name that petl prints in tab-separated output.
func checkName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > maxName:
		return fmt.Errorf("%d bytes, want at most %d", len(s), maxName)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	case strings.ContainsAny(s, "\t\n\r\x00"):
		return fmt.Errorf("holds a tab, line break or NUL")
	}
	return nil
}

// abbrev shortens a string for a message.
func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// checkBase checks the recorded identity of the base.
func (c *FileConfig) checkBase() error {
	b := &c.Base
	if !fingerprintRE.MatchString(b.Fingerprint) {
		return fmt.Errorf("base fingerprint %q, want sha256:<64 hex digits> or %s<64 hex digits>", abbrev(b.Fingerprint), bert.BaseFingerprintPrefix)
	}
	for _, f := range []struct{ key, v string }{{"weights_fingerprint", b.WeightsFingerprint}, {"vocab_fingerprint", b.VocabFingerprint}} {
		if hex, ok := strings.CutPrefix(f.v, "sha256:"); f.v != "" && !(ok && sha256RE.MatchString(hex)) {
			return fmt.Errorf("base %s %q, want sha256:<64 hex digits>", f.key, abbrev(f.v))
		}
	}
	if b.VocabTokens < 0 || b.VocabTokens > b.Config.VocabSize {
		return fmt.Errorf("base vocab_tokens %d, want at most the base's vocab_size %d", b.VocabTokens, b.Config.VocabSize)
	}
	if len(b.Name) > 4096 || strings.ContainsRune(b.Name, 0) {
		return fmt.Errorf("base name of %d bytes with a NUL or over 4096 bytes", len(b.Name))
	}
	return nil
}

// ExpectedTensors lists the tensors the configuration's method trains on
// its recorded base, by name and shape, in no particular order: the ones
// the weights file must hold. It checks that their total size is
// plausible (at most 1 TiB) but not the rest of the configuration: call
// Validate first.
func (c *FileConfig) ExpectedTensors() ([]bert.ExpectedTensor, error) {
	bc := c.Base.Config
	H, L := bc.HiddenSize, bc.NumLayers
	var ts []bert.ExpectedTensor
	base := bc.BaseTensors()
	layerNorms := func() {
		for _, t := range base {
			if strings.Contains(t.Name, "LayerNorm.") {
				ts = append(ts, t)
			}
		}
	}
	pooler := func() {
		for _, t := range base {
			if strings.HasPrefix(t.Name, "pooler.") {
				ts = append(ts, t)
			}
		}
	}
	switch c.Method {
	case MethodAdapter:
		if c.Adapter == nil {
			return nil, fmt.Errorf("method adapter without an \"adapter\" object")
		}
		a, err := c.Adapter.withDefaults()
		if err != nil {
			return nil, err
		}
		M := a.Size
		module := func(prefix string) {
			ts = append(ts,
				bert.ExpectedTensor{Name: prefix + ".down.weight", Shape: []int{M, H}},
				bert.ExpectedTensor{Name: prefix + ".down.bias", Shape: []int{M}},
				bert.ExpectedTensor{Name: prefix + ".up.weight", Shape: []int{H, M}},
				bert.ExpectedTensor{Name: prefix + ".up.bias", Shape: []int{H}})
		}
		for l := 0; l < L; l++ {
			if a.Placement == Houlsby {
				module(attnPrefix(l))
			}
			module(ffPrefix(l))
		}
		layerNorms()
		if c.TrainPooler {
			pooler()
		}
	case MethodFull:
		ts = append(ts, base...)
	case MethodTopK:
		if c.TopK < 0 || c.TopK > L {
			return nil, fmt.Errorf("top_layers %d, want 0..%d", c.TopK, L)
		}
		for _, t := range base {
			for l := L - c.TopK; l < L; l++ {
				if strings.HasPrefix(t.Name, fmt.Sprintf("encoder.layer.%d.", l)) {
					ts = append(ts, t)
				}
			}
		}
		pooler()
	case MethodLNHead:
		layerNorms()
	default:
		return nil, fmt.Errorf("unknown method %q", c.Method)
	}
	n := c.NumLabels()
	ts = append(ts,
		bert.ExpectedTensor{Name: "classifier.weight", Shape: []int{n, H}},
		bert.ExpectedTensor{Name: "classifier.bias", Shape: []int{n}})
	var total float64
	for _, t := range ts {
		total += 4 * float64(numel(t.Shape))
	}
	if total > maxWeightsBytes {
		return nil, fmt.Errorf("method %s on a base of this config implies %.3g bytes of weights, more than the %d petl reads", c.Method, total, int64(maxWeightsBytes))
	}
	return ts, nil
}

// weightsLimit is the most bytes the weights file of c may have: its
// tensors as float32, plus room for the header (names, shapes, offsets,
// metadata) and its padding.
func (c *FileConfig) weightsLimit(ts []bert.ExpectedTensor) int64 {
	n := int64(64 << 10)
	for _, t := range ts {
		n += 4*int64(numel(t.Shape)) + int64(len(t.Name)) + 256
	}
	return n
}

// numel is the element count of a shape (checked sizes: no overflow).
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// diff returns the names of want missing from got and those of got not in
// want (both sorted), at most 5 of each.
func diff(want, got []string) (missing, extra []string) {
	in := func(xs []string, x string) bool { _, ok := slices.BinarySearch(xs, x); return ok }
	sortedGot := slices.Sorted(slices.Values(got))
	for _, w := range want {
		if !in(sortedGot, w) && len(missing) < 5 {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !in(want, g) && len(extra) < 5 {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

// sameArchitecture reports how a's architecture differs from b's (the
// config fields that change the function), or "" when it does not.
func sameArchitecture(a, b bert.Config) string {
	type arch struct {
		V, H, L, NH, I, P, T int
		Act                  string
		Eps                  uint32
	}
	get := func(c bert.Config) arch {
		return arch{c.VocabSize, c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize, c.MaxPositions, c.TypeVocabSize, c.HiddenAct, math.Float32bits(c.LayerNormEps)}
	}
	if x, y := get(a), get(b); x != y {
		return fmt.Sprintf("vocab %d hidden %d layers %d heads %d intermediate %d positions %d types %d act %s eps %g, the model's vocab %d hidden %d layers %d heads %d intermediate %d positions %d types %d act %s eps %g",
			x.V, x.H, x.L, x.NH, x.I, x.P, x.T, x.Act, a.LayerNormEps, y.V, y.H, y.L, y.NH, y.I, y.P, y.T, y.Act, b.LayerNormEps)
	}
	return ""
}

// settings are the fields of a configuration that decide what the adapter
// computes from a text. Save records them in the weights file's metadata
// (settingsKey), under the weights' SHA-256, and Read checks that the
// configuration still says the same: an edited activation, placement,
// casing, label order or max_len is an error, not a silently different
// model.
type settings struct {
	Method      Method     `json:"method"`
	Size        int        `json:"adapter_size,omitempty"`
	Placement   Placement  `json:"placement,omitempty"`
	Activation  Activation `json:"activation,omitempty"`
	TopK        int        `json:"top_layers,omitempty"`
	TrainPooler bool       `json:"train_pooler,omitempty"`
	Task        string     `json:"task"`
	Regression  bool       `json:"regression,omitempty"`
	Labels      []string   `json:"labels,omitempty"`
	MaxLen      int        `json:"max_len"`
	Lowercase   bool       `json:"lowercase"`
}

// settingsKey is the weights file's metadata key of the settings.
const settingsKey = "petl_settings"

// settingsOf are c's settings, defaults filled in.
func settingsOf(c *FileConfig) settings {
	s := settings{Method: c.Method, TopK: c.TopK, TrainPooler: c.TrainPooler, Task: c.Task,
		Regression: c.Regression, Labels: c.Labels, MaxLen: c.MaxLen, Lowercase: c.Lowercase}
	if c.Adapter != nil {
		a, _ := c.Adapter.withDefaults()
		s.Size, s.Placement, s.Activation = a.Size, a.Placement, a.Activation
	}
	return s
}

// settingsJSON is the metadata value of c's settings.
func settingsJSON(c *FileConfig) string {
	b, _ := json.Marshal(settingsOf(c))
	return string(b)
}

// checkSettings compares c with the metadata of its weights file: the
// settings when recorded (files written by this petl), else the method and
// task that every petl adapter's weights record. It returns what differs.
func checkSettings(c *FileConfig, md map[string]string) error {
	if m, ok := md["method"]; ok && m != string(c.Method) {
		return fmt.Errorf("the configuration says method %q, its weights were saved with %q: the configuration was edited or belongs to other weights", c.Method, m)
	}
	if tk, ok := md["task"]; ok && tk != c.Task {
		return fmt.Errorf("the configuration says task %q, its weights were saved for %q: the configuration was edited or belongs to other weights", c.Task, tk)
	}
	raw, ok := md[settingsKey]
	if !ok {
		return nil
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return fmt.Errorf("the weights' %s metadata: %w", settingsKey, err)
	}
	var now map[string]any
	b, _ := json.Marshal(settingsOf(c))
	json.Unmarshal(b, &now)
	var diffs []string
	keys := slices.Sorted(maps.Keys(rec))
	for k := range now {
		if _, ok := rec[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		a, _ := json.Marshal(now[k])
		r, _ := json.Marshal(rec[k])
		if string(a) != string(r) {
			diffs = append(diffs, fmt.Sprintf("%s %s (saved with %s)", k, a, r))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the configuration says %s: it was edited after the adapter was saved; these settings decide what the adapter computes: put them back (a different max_len is a flag of eval, predict and serve)", strings.Join(diffs, ", "))
	}
	return nil
}
