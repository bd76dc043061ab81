package bert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/wordpiece"
)

// File names of a Hugging Face checkpoint directory.
const (
	ConfigFileName  = "config.json"
	WeightsFileName = "model.safetensors"
)

// Checkpoint is a Hugging Face BERT checkpoint directory (config.json and
// model.safetensors) opened for reading. The weights file is memory-mapped
// read-only (see safetensors.Open): F32 tensors returned by Tensor are
// slices over the mapping, shared with every other process that maps the
// same file, and writing into one crashes the program. They stay valid
// until Close.
//
// Tensor names are canonicalised to the Hugging Face BertModel names
// without the "bert." prefix and with layer norms as weight/bias
// ("encoder.layer.0.attention.output.LayerNorm.weight"), whatever the
// file's spelling: with or without "bert.", gamma/beta or weight/bias. The
// pretraining heads ("cls.predictions.*", "cls.seq_relationship.*") and a
// sequence-classification head ("classifier.*") are kept under their own
// names; "cls.predictions.decoder.bias" is an alias of
// "cls.predictions.bias", and an absent "cls.predictions.decoder.weight"
// means the decoder is tied to the word embeddings. The integer buffers
// "embeddings.position_ids" and "embeddings.token_type_ids" are recognised
// and skipped (Verify checks that position_ids is 0..N-1).
//
// Any other tensor is unexpected and listed by Unexpected. One inside the
// model's own namespaces (embeddings., encoder., pooler., cls., classifier.)
// means the file and config.json disagree about the architecture, and
// Verify fails; one outside them (another task's head, say "qa_outputs.*")
// is only reported.
//
// A Checkpoint is safe for concurrent use, except Close.
type Checkpoint struct {
	dir     string
	cfgPath string
	path    string // model.safetensors
	cfg     Config
	file    *safetensors.File

	raw        map[string]string // canonical name -> name in the file
	names      []string          // canonical names kept, sorted
	skipped    []string          // file names of recognised buffers and aliases
	unexpected []string          // file names not recognised, sorted

	fpOnce sync.Once
	fp     string
	closed bool
}

// OpenCheckpoint opens the checkpoint in dir and verifies it (see Verify):
// a checkpoint it returns has every tensor the config implies, with the
// right shape. The vocabulary (vocab.txt) is loaded separately, by
// wordpiece.LoadVocab.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	c, err := OpenCheckpointUnverified(dir)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// OpenCheckpointUnverified opens the checkpoint in dir like OpenCheckpoint
// but does not run Verify, so that a broken checkpoint can still be
// inspected. The config must be valid, the weights file must be a valid
// safetensors file, and no two tensors may have the same canonical name.
func OpenCheckpointUnverified(dir string) (*Checkpoint, error) {
	c := &Checkpoint{
		dir:     dir,
		cfgPath: filepath.Join(dir, ConfigFileName),
		path:    filepath.Join(dir, WeightsFileName),
	}
	for _, p := range []string{c.cfgPath, c.path} {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("bert: checkpoint %s has no %s: %w", dir, filepath.Base(p), err)
			}
			return nil, fmt.Errorf("bert: checkpoint %s: %w", dir, err)
		}
	}
	cfg, err := LoadConfig(c.cfgPath)
	if err != nil {
		return nil, err
	}
	c.cfg = cfg
	if c.file, err = safetensors.Open(c.path); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	if err := c.index(); err != nil {
		c.file.Close()
		return nil, err
	}
	return c, nil
}

// ckptBuffers are integer buffers that some checkpoints carry and petl
// does not need.
var ckptBuffers = map[string]bool{
	"embeddings.position_ids":   true,
	"embeddings.token_type_ids": true,
}

// ckptNamespaces are the name prefixes that belong to the model; an
// unknown tensor under one of them is an architecture mismatch.
var ckptNamespaces = []string{"embeddings.", "encoder.", "pooler.", "cls.", "classifier."}

// ckptCanonicalName maps a tensor name as stored in a file to its canonical
// name: no "bert." prefix, LayerNorm gamma/beta as weight/bias, and
// "cls.predictions.decoder.bias" as "cls.predictions.bias".
func ckptCanonicalName(name string) string {
	n := strings.TrimPrefix(name, "bert.")
	if s, ok := strings.CutSuffix(n, ".LayerNorm.gamma"); ok {
		n = s + ".LayerNorm.weight"
	} else if s, ok := strings.CutSuffix(n, ".LayerNorm.beta"); ok {
		n = s + ".LayerNorm.bias"
	}
	if n == "cls.predictions.decoder.bias" {
		n = "cls.predictions.bias"
	}
	return n
}

// ckptKnownNames is the set of canonical tensor names a checkpoint with
// this config may hold.
func ckptKnownNames(cfg Config) map[string]bool {
	known := map[string]bool{"cls.predictions.decoder.weight": true}
	for _, t := range cfg.BaseTensors() {
		known[t.Name] = true
	}
	for _, head := range cfg.HeadTensors() {
		for _, t := range head {
			known[t.Name] = true
		}
	}
	return known
}

// index canonicalises the file's tensor names.
func (c *Checkpoint) index() error {
	known := ckptKnownNames(c.cfg)
	c.raw = map[string]string{}
	for _, name := range c.file.Names() {
		canon := ckptCanonicalName(name)
		if ckptBuffers[canon] {
			c.skipped = append(c.skipped, name)
			continue
		}
		if !known[canon] {
			c.unexpected = append(c.unexpected, name)
			continue
		}
		prev, dup := c.raw[canon]
		if !dup {
			c.raw[canon] = name
			continue
		}
		if canon == "cls.predictions.bias" {
			// Both the bias and its decoder alias are stored: they must agree.
			if err := c.sameValues(prev, name); err != nil {
				return err
			}
			if strings.HasSuffix(name, ".decoder.bias") {
				c.skipped = append(c.skipped, name)
			} else {
				c.raw[canon] = name
				c.skipped = append(c.skipped, prev)
			}
			continue
		}
		return fmt.Errorf("bert: %s: tensors %q and %q are both %q", c.path, prev, name, canon)
	}
	for canon := range c.raw {
		c.names = append(c.names, canon)
	}
	sort.Strings(c.names)
	sort.Strings(c.skipped)
	sort.Strings(c.unexpected)
	return nil
}

// sameValues checks that two stored tensors have equal shapes and values.
func (c *Checkpoint) sameValues(a, b string) error {
	ia, _ := c.file.Info(a)
	ib, _ := c.file.Info(b)
	if !slices.Equal(ia.Shape, ib.Shape) {
		return fmt.Errorf("bert: %s: tensors %q %v and %q %v are aliases but differ in shape", c.path, a, ia.Shape, b, ib.Shape)
	}
	va, errA := c.file.Float32(a)
	vb, errB := c.file.Float32(b)
	if err := errors.Join(errA, errB); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	for i := range va {
		if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
			return fmt.Errorf("bert: %s: tensors %q and %q are aliases but differ at element %d (%g vs %g)", c.path, a, b, i, va[i], vb[i])
		}
	}
	return nil
}

// Dir is the checkpoint directory.
func (c *Checkpoint) Dir() string { return c.dir }

// Config is the model configuration from config.json.
func (c *Checkpoint) Config() Config { return c.cfg }

// Names lists the canonical names of the tensors kept, sorted.
func (c *Checkpoint) Names() []string { return slices.Clone(c.names) }

// Has reports whether the checkpoint holds the tensor; name may be
// canonical or spelled as in any supported variant.
func (c *Checkpoint) Has(name string) bool {
	_, ok := c.raw[ckptCanonicalName(name)]
	return ok
}

// StoredName is the name under which the tensor is stored in the file.
func (c *Checkpoint) StoredName(name string) (string, bool) {
	raw, ok := c.raw[ckptCanonicalName(name)]
	return raw, ok
}

// Info describes a tensor (dtype, shape, whether it is memory-mapped); its
// Name is the name stored in the file.
func (c *Checkpoint) Info(name string) (safetensors.Info, bool) {
	raw, ok := c.raw[ckptCanonicalName(name)]
	if !ok {
		return safetensors.Info{}, false
	}
	return c.file.Info(raw)
}

// Unexpected lists, sorted, the stored names of tensors that are not part
// of the model, its known heads or its known buffers.
func (c *Checkpoint) Unexpected() []string { return slices.Clone(c.unexpected) }

// Skipped lists, sorted, the stored names of the recognised tensors that
// are not kept: the integer buffers and a duplicate decoder bias alias.
func (c *Checkpoint) Skipped() []string { return slices.Clone(c.skipped) }

// Evict lets the named tensors (canonical names) leave the process's
// resident memory until they are touched again (safetensors.File.Evict):
// for weights that a model reads in another form, as Model.PackWeights
// packs them. Unknown names are an error.
func (c *Checkpoint) Evict(names ...string) error {
	if c.closed {
		return fmt.Errorf("bert: checkpoint %s is closed", c.dir)
	}
	for _, name := range names {
		raw, ok := c.raw[ckptCanonicalName(name)]
		if !ok {
			return fmt.Errorf("%s: tensor %q is missing", c.path, name)
		}
		if err := c.file.Evict(raw); err != nil {
			return fmt.Errorf("bert: %w", err)
		}
	}
	return nil
}

// Weights is the underlying safetensors file.
func (c *Checkpoint) Weights() *safetensors.File { return c.file }

// Tensor returns the values of a float tensor by canonical name (other
// supported spellings are accepted too), checking its shape when one is
// given: a missing tensor, a non-float dtype or a shape other than the one
// asked for is an error naming the tensor and both shapes. The slice must
// not be modified: for a memory-mapped tensor a write is a fault. It is
// valid until Close.
func (c *Checkpoint) Tensor(name string, shape ...int) ([]float32, error) {
	if c.closed {
		return nil, fmt.Errorf("bert: checkpoint %s is closed", c.dir)
	}
	canon := ckptCanonicalName(name)
	raw, ok := c.raw[canon]
	if !ok {
		if len(shape) > 0 {
			return nil, fmt.Errorf("%s: tensor %q is missing (config says %v)", c.path, canon, shape)
		}
		return nil, fmt.Errorf("%s: tensor %q is missing", c.path, canon)
	}
	info, _ := c.file.Info(raw)
	if len(shape) > 0 && !slices.Equal(info.Shape, shape) {
		return nil, fmt.Errorf("%s: tensor %q%s has shape %v, config says %v", c.path, canon, c.storedAs(canon), info.Shape, shape)
	}
	if !info.DType.IsFloat() {
		return nil, fmt.Errorf("%s: tensor %q%s has dtype %s, want F32, F16 or BF16", c.path, canon, c.storedAs(canon), info.DType)
	}
	v, err := c.file.Float32(raw)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	return v, nil
}

// storedAs is " (stored as "...")" when the stored name differs.
func (c *Checkpoint) storedAs(canon string) string {
	if raw := c.raw[canon]; raw != canon {
		return fmt.Sprintf(" (stored as %q)", raw)
	}
	return ""
}

// Verify checks that the checkpoint is complete and consistent with its
// config: every base tensor (Config.BaseTensors) present, of a float dtype,
// with the shape the config implies; each head either absent or complete
// and of the right shapes (the classifier with NumLabels rows when the
// config sets num_labels; its weight and bias agreeing otherwise); the
// position_ids buffer, when present, equal to 0..max_position_embeddings-1;
// and no unexpected tensor inside the model's namespaces. It reports every
// problem found, not only the first.
func (c *Checkpoint) Verify() error {
	var errs []error
	check := func(name string, shape []int) {
		if _, err := c.Tensor(name, shape...); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range c.cfg.BaseTensors() {
		check(t.Name, t.Shape)
	}
	heads := c.cfg.HeadTensors()
	for _, head := range []string{"cls.predictions", "cls.seq_relationship", "classifier"} {
		ts := heads[head]
		present := false
		for _, t := range ts {
			present = present || c.Has(t.Name)
		}
		if !present {
			continue
		}
		if head == "classifier" && c.cfg.NumLabels == 0 {
			// The config does not say: take the number of classes from
			// the weight, or else the bias.
			rows := 1
			if info, ok := c.Info("classifier.weight"); ok && len(info.Shape) == 2 {
				rows = info.Shape[0]
			} else if info, ok := c.Info("classifier.bias"); ok && len(info.Shape) == 1 {
				rows = info.Shape[0]
			}
			ts = []ExpectedTensor{
				{"classifier.weight", []int{rows, c.cfg.HiddenSize}},
				{"classifier.bias", []int{rows}},
			}
		}
		for _, t := range ts {
			check(t.Name, t.Shape)
		}
	}
	if c.Has("cls.predictions.decoder.weight") {
		check("cls.predictions.decoder.weight", []int{c.cfg.VocabSize, c.cfg.HiddenSize})
	}
	if err := c.verifyPositionIDs(); err != nil {
		errs = append(errs, err)
	}
	var inside []string
	for _, name := range c.unexpected {
		canon := ckptCanonicalName(name)
		for _, ns := range ckptNamespaces {
			if strings.HasPrefix(canon, ns) {
				inside = append(inside, name)
				break
			}
		}
	}
	if len(inside) > 0 {
		errs = append(errs, fmt.Errorf("%s: unexpected tensors for a BERT with this config.json (%d layers): %q",
			c.path, c.cfg.NumLayers, inside))
	}
	if len(errs) > 0 {
		return fmt.Errorf("bert: checkpoint %s does not match its config: %w", c.dir, errors.Join(errs...))
	}
	return nil
}

// verifyPositionIDs checks the position_ids buffer, if stored: shape
// [1, P] or [P] with P = max_position_embeddings and values 0..P-1.
func (c *Checkpoint) verifyPositionIDs() error {
	var raw string
	for _, name := range c.skipped {
		if ckptCanonicalName(name) == "embeddings.position_ids" {
			raw = name
		}
	}
	if raw == "" {
		return nil
	}
	info, _ := c.file.Info(raw)
	P := c.cfg.MaxPositions
	if !slices.Equal(info.Shape, []int{1, P}) && !slices.Equal(info.Shape, []int{P}) {
		return fmt.Errorf("%s: buffer %q has shape %v, config says [1 %d]", c.path, raw, info.Shape, P)
	}
	ids, err := c.file.Int64(raw)
	if err != nil {
		return fmt.Errorf("bert: buffer %q: %w", raw, err)
	}
	for i, v := range ids {
		if v != int64(i) {
			return fmt.Errorf("%s: buffer %q holds %d at position %d: petl uses absolute positions 0..%d", c.path, raw, v, i, P-1)
		}
	}
	return nil
}

// Fingerprint returns the checkpoint's base-model fingerprint (see the
// package function Fingerprint), computed on first use.
func (c *Checkpoint) Fingerprint() string {
	c.fpOnce.Do(func() { c.fp = Fingerprint(c.cfg, c) })
	return c.fp
}

// Fingerprint is the fingerprint of m's base weights: the package function
// Fingerprint over its parameters, so that a model built in memory
// (NewRandom) and the same weights written as a checkpoint have the same
// fingerprint (a test checks that the two agree). Call it before training
// changes any base weight.
func (m *Model) Fingerprint() string {
	return Fingerprint(m.Config, paramSource(m.Params()))
}

// paramSource serves a model's parameters by name as a TensorSource.
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

// Fingerprint identifies a base model, to tie adapters to the base they
// were trained on: "sha256:" and the hex SHA-256 of a canonical encoding
// of the architecture (the config fields that change the function: sizes,
// hidden_act, layer_norm_eps) followed by one line per base tensor in
// Config.BaseTensors order: its canonical name, its shape and the hex
// SHA-256 of its float32 values, little-endian. It does not depend on how
// a file spells the names, on its tensor order, on the storage dtype once
// widened to float32, on metadata, dropout settings or heads; it changes
// when any base weight changes by a single bit. A tensor src lacks is
// hashed as a marker, so an unverified checkpoint still has a (different)
// fingerprint.
//
// It reads every base weight once, the tensors hashed in parallel
// (BERT-base, 418 MiB: about 1 s on one core).
func Fingerprint(cfg Config, src TensorSource) string {
	base := cfg.BaseTensors()
	sums := make([]string, len(base))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(base)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := base[i]
				v, err := src.Tensor(t.Name, t.Shape...)
				if err != nil {
					sums[i] = fmt.Sprintf("%s missing\n", t.Name)
					continue
				}
				h := sha256.New()
				ckptHashFloats(h, v)
				sums[i] = fmt.Sprintf("%s %v %x\n", t.Name, t.Shape, h.Sum(nil))
			}
		}()
	}
	// Largest tensors first, so that one big tensor does not finish last.
	order := make([]int, len(base))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return ckptNumel(base[order[a]].Shape) > ckptNumel(base[order[b]].Shape)
	})
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()

	h := sha256.New()
	fmt.Fprintf(h, "petl bert base v1\nvocab %d hidden %d layers %d heads %d intermediate %d positions %d types %d act %s eps %08x\n",
		cfg.VocabSize, cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.IntermediateSize,
		cfg.MaxPositions, cfg.TypeVocabSize, cfg.HiddenAct, math.Float32bits(cfg.LayerNormEps))
	for _, s := range sums {
		io.WriteString(h, s)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// BaseFingerprintPrefix starts every BaseFingerprint, telling it from the
// weights-only form of Fingerprint ("sha256:...") that adapter files
// written before it recorded.
const BaseFingerprintPrefix = "v2:sha256:"

// BaseFingerprint identifies a base as adapters depend on it: the weights
// and architecture (weights, a Fingerprint) and the vocabulary that turns
// text into ids (v; its Fingerprint). It is BaseFingerprintPrefix and the
// hex SHA-256 of both, so it changes when any base weight, a config field
// that changes the function, or any token of the vocabulary changes: an
// adapter trained on one base refuses another that differs in any of
// them (a truncated or reordered vocab.txt shifts every id silently).
func BaseFingerprint(weights string, v *wordpiece.Vocab) string {
	h := sha256.New()
	fmt.Fprintf(h, "petl bert base v2\nweights %s\nvocab %s %d\n", weights, v.Fingerprint(), v.Size())
	return BaseFingerprintPrefix + hex.EncodeToString(h.Sum(nil))
}

// ckptNumel is the number of elements of a shape.
func ckptNumel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ckptHashFloats writes v to h as little-endian float32.
func ckptHashFloats(h hash.Hash, v []float32) {
	if len(v) == 0 {
		return
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		h.Write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		return
	}
	var buf [4096]byte
	for len(v) > 0 {
		n := min(len(v), len(buf)/4)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v[i]))
		}
		h.Write(buf[:4*n])
		v = v[n:]
	}
}

// Check reports whether the weights file is still the file opened
// (safetensors.File.Check): not truncated nor rewritten in place since.
// The error names the file and wraps safetensors.ErrChanged. Cheap enough
// to call before and after every forward pass.
func (c *Checkpoint) Check() error {
	if c.closed {
		return fmt.Errorf("bert: checkpoint %s is closed", c.dir)
	}
	if err := c.file.Check(); err != nil {
		return fmt.Errorf("bert: checkpoint %s: %w", c.dir, err)
	}
	return nil
}

// Close unmaps the weights. Every slice returned by Tensor becomes invalid:
// touching one afterwards crashes the program.
func (c *Checkpoint) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.file.Close()
}

// WriteCheckpoint writes a checkpoint directory: config.json from cfg and
// model.safetensors from tensors (with the "format": "pt" metadata that
// transformers expects), creating dir if needed. Each file is written
// atomically; the pair is not (the weights are written first, then the
// config). It validates cfg and the tensors' data but does not check
// the names against the config: call OpenCheckpoint to verify.
func WriteCheckpoint(dir string, cfg Config, tensors []safetensors.Tensor) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bert: writing checkpoint %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bert: writing checkpoint: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFileName), tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("bert: writing checkpoint: %w", err)
	}
	return cfg.WriteFile(filepath.Join(dir, ConfigFileName))
}
