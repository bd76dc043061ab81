// Package petl is the front door of the library: open a frozen BERT base
// once, load any number of task adapters onto it, and predict.
//
//	base, err := petl.Open("models/petl-bert-tiny", petl.Options{})
//	sst2, err := base.Load("sst2", "out/sst2")     // an adapter written by petl train
//	preds, err := sst2.Predict(ctx, petl.Text("a gripping, funny film"))
//	fmt.Println(preds[0].Label, preds[0].Score)
//
// Every task is a view of the one base (bert.Model.View): the base's
// weights, memory-mapped read-only from its checkpoint (and its packed
// copy), are shared by all tasks; each task owns only what it trained
// (adapters, layer norms, head). Requests of different tasks run in one
// forward pass (Base.PredictMixed): the frozen products over the real
// tokens of every request at once, without padding, each task's own parts
// on its own rows. A Base and its Tasks are safe for concurrent use.
package petl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// Errors that callers (a server, say) tell apart with errors.Is.
var (
	// ErrUnknownTask: no task of that name is loaded.
	ErrUnknownTask = errors.New("unknown task")
	// ErrInput: a request's input does not suit its task (a pair sent to a
	// single-text task or the reverse, invalid UTF-8, ...).
	ErrInput = errors.New("bad input")
	// ErrClosed: the Base was closed.
	ErrClosed = errors.New("base closed")
)

// Options say how Open loads a base. The zero value is what the command
// line does by default.
type Options struct {
	// Vocab is the vocabulary file; "" for the checkpoint's vocab.txt.
	Vocab string
	// Lowercase forces the tokenizer's casing: "true" or "false". ""
	// (or "auto") takes do_lower_case from the checkpoint's
	// tokenizer_config.json, else decides from the vocabulary
	// (wordpiece.CheckpointCasing). Adapters always run with the casing they
	// were trained with; forcing one that contradicts an adapter makes
	// loading it an error.
	Lowercase string
	// Pack: "" or "auto" packs the dense weights for the kernels into a
	// memory-mapped file in the user's cache directory (reused while it
	// matches; a failure is a warning and the weights are used unpacked,
	// slower, same results); "off" does not pack; anything else is the
	// file to pack into (a failure is an error). Packing never writes to
	// the checkpoint's folder's files.
	Pack string
	// Precision of the base's frozen dense products: "" or "fp32" for
	// float32; "int8" for int8 weights (bert.Model.QuantizeWeights: one
	// scale per output channel, activations quantized per row, exact int32
	// sums), kept in a memory-mapped file in the user's cache directory,
	// petl/int8/ (reused while it matches; when it cannot be written the
	// int8 weights are made on the heap, with a warning), or on the heap for
	// a model in memory. Int8 replaces packing. Adapters, layer norms,
	// attention's own products and heads stay float32, so one int8 base
	// serves every task.
	Precision string
	// Warn receives warnings and notes (packing); nil discards them.
	Warn io.Writer
}

// Base is a frozen BERT base with the tasks loaded onto it.
type Base struct {
	dir       string                  // checkpoint folder; "" for an in-memory model
	vocabPath string                  // the vocabulary file read; "" for an in-memory model
	inputs    []string                // the checkpoint's other files, which nothing may overwrite
	ck        *bert.Checkpoint        // nil for an in-memory model
	model     *bert.Model             // the frozen base, never changed after Open
	vocab     *wordpiece.Vocab        //
	casing    wordpiece.Casing        // the base's own casing
	forced    bool                    // casing forced by Options.Lowercase
	toks      [2]*wordpiece.Tokenizer // [0] keeps case, [1] lower-cases
	ident     adapter.Base
	warn      io.Writer

	mu     sync.RWMutex
	tasks  map[string]*Task
	closed bool
	unpack bool // the model was packed: Close unpacks it
	// unquantize: the model was quantized: Close drops its int8 weights.
	unquantize bool
	precision  string // FP32 or Int8

	runners sync.Pool // *runner
}

// Open opens the BERT checkpoint folder dir (config.json,
// model.safetensors, vocab.txt and, when present, tokenizer_config.json):
// the weights are mapped read-only and verified against the config, the
// base's fingerprint computed, the casing decided, and the dense weights
// packed as opts.Pack says.
//
// A bad PETL_KERNELS in the environment (kernels.CheckEnv) is an error here,
// as in NewBase: the caller asked for kernels this process does not run.
func Open(dir string, opts Options) (*Base, error) {
	if err := kernels.CheckEnv(); err != nil {
		return nil, fmt.Errorf("petl: %w", err)
	}
	ck, err := bert.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	m, err := bert.New(ck.Config(), ck)
	if err != nil {
		ck.Close()
		return nil, err
	}
	vocab := opts.Vocab
	if vocab == "" {
		vocab = filepath.Join(dir, "vocab.txt")
	}
	v, err := wordpiece.LoadVocab(vocab)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("model %s: %w (pass a vocabulary file if it is elsewhere)", dir, err)
	}
	casing, forced, err := casingFor(opts.Lowercase, dir, v)
	if err != nil {
		ck.Close()
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	// The identity covers the vocabulary: an adapter refuses the same
	// weights read with another vocab.txt.
	ident := adapter.Identify(abs, m.Config, ck.Fingerprint(), v)
	b, err := newBase(m, v, ident, casing, forced, opts)
	if err != nil {
		ck.Close()
		return nil, err
	}
	b.dir, b.ck, b.vocabPath = dir, ck, vocab
	for _, f := range []string{bert.ConfigFileName, bert.WeightsFileName, wordpiece.TokenizerConfigFile} {
		b.inputs = append(b.inputs, filepath.Join(dir, f))
	}
	if err := b.prepareWeights(opts); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// NewBase makes a Base over a model in memory (bert.NewRandom, say) with
// vocabulary v; ident names it in the adapters trained on it. Without a
// Fingerprint, ident gets the one of m's weights and v
// (adapter.Identify with bert.Model.Fingerprint); one given is kept
// as it is. The model must not change afterwards. Options.Pack "" or
// "auto" packs on the heap; Options.Vocab is unused.
func NewBase(m *bert.Model, v *wordpiece.Vocab, ident adapter.Base, opts Options) (*Base, error) {
	if err := kernels.CheckEnv(); err != nil {
		return nil, fmt.Errorf("petl: %w", err)
	}
	if ident.Fingerprint == "" {
		id := adapter.Identify(ident.Name, m.Config, m.Fingerprint(), v)
		id.Seed = ident.Seed
		ident = id
	}
	ident.Config = m.Config
	casing, forced, err := casingFor(opts.Lowercase, "", v)
	if err != nil {
		return nil, err
	}
	b, err := newBase(m, v, ident, casing, forced, opts)
	if err != nil {
		return nil, err
	}
	if p := strings.ToLower(opts.Pack); p == "" || p == "auto" {
		opts.Pack = "heap"
	}
	if err := b.prepareWeights(opts); err != nil {
		return nil, err
	}
	return b, nil
}

func newBase(m *bert.Model, v *wordpiece.Vocab, ident adapter.Base, casing wordpiece.Casing, forced bool, opts Options) (*Base, error) {
	precision, err := ParsePrecision(opts.Precision)
	if err != nil {
		return nil, err
	}
	if v.Size() > m.Config.VocabSize {
		return nil, fmt.Errorf("vocabulary has %d tokens, the model's embeddings only %d", v.Size(), m.Config.VocabSize)
	}
	warn := opts.Warn
	if warn == nil {
		warn = io.Discard
	}
	b := &Base{model: m, vocab: v, casing: casing, forced: forced, ident: ident, warn: warn, precision: precision, tasks: map[string]*Task{}}
	b.toks[0] = wordpiece.NewTokenizer(v, false)
	b.toks[1] = wordpiece.NewTokenizer(v, true)
	return b, nil
}

// casingFor reads an Options.Lowercase value.
func casingFor(lower, dir string, v *wordpiece.Vocab) (wordpiece.Casing, bool, error) {
	switch strings.ToLower(lower) {
	case "", "auto":
		if dir == "" {
			return wordpiece.VocabCasing(v), false, nil
		}
		c, err := wordpiece.CheckpointCasing(dir, v)
		return c, false, err
	case "true", "yes", "1":
		return wordpiece.Casing{Lowercase: true, Source: "forced"}, true, nil
	case "false", "no", "0":
		return wordpiece.Casing{Lowercase: false, Source: "forced"}, true, nil
	}
	return wordpiece.Casing{}, false, fmt.Errorf("lowercase %q: want auto, true or false", lower)
}

// Precisions of Options.Precision.
const (
	FP32 = "fp32"
	Int8 = "int8"
)

// ParsePrecision reads an Options.Precision value: FP32 for "" or "fp32",
// Int8 for "int8", else an error.
func ParsePrecision(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", FP32:
		return FP32, nil
	case Int8:
		return Int8, nil
	}
	return "", fmt.Errorf("precision %q: want fp32 or int8", s)
}

// Precision returns the precision of the base's frozen dense products,
// FP32 or Int8 (Options.Precision).
func (b *Base) Precision() string { return b.precision }

// prepareWeights packs the dense weights (float32) or quantizes them
// (int8), as opts say.
func (b *Base) prepareWeights(opts Options) error {
	if b.precision != Int8 {
		return b.pack(opts.Pack)
	}
	path := ""
	var err error
	if b.ck != nil {
		path, err = bert.DefaultQuantPath(b.packKey())
	}
	var st bert.QuantStats
	if err == nil {
		st, err = b.model.QuantizeWeights(path, b.packKey())
	}
	if err != nil && path != "" {
		fmt.Fprintf(b.warn, "warning: int8 weights on the heap (%v)\n", err)
		st, err = b.model.QuantizeWeights("", b.packKey())
	}
	if err != nil {
		return fmt.Errorf("int8 weights: %w", err)
	}
	b.unquantize = true
	b.evict(b.model.QuantizedWeights())
	if st.Written {
		fmt.Fprintf(b.warn, "quantized %d weight matrices to int8 into %s (%.1f MiB; %s)\n", st.Tensors, st.Path, float64(st.Bytes)/(1<<20), st.Why)
	}
	return nil
}

// evict lets the checkpoint's values of the named weights leave the
// resident set: the products read their packed or int8 copies.
func (b *Base) evict(names []string) {
	if b.ck == nil {
		return
	}
	if err := b.ck.Evict(names...); err != nil {
		fmt.Fprintf(b.warn, "warning: %v (the weights stay resident twice)\n", err)
	}
}

// pack packs the base's dense weights (see Options.Pack; "heap" packs in
// memory).
func (b *Base) pack(mode string) error {
	mode = strings.TrimSpace(mode)
	if mode == "off" {
		return nil
	}
	path, auto := mode, mode == "" || mode == "auto"
	var err error
	switch {
	case mode == "heap":
		path = ""
	case auto:
		path, err = bert.DefaultPackPath(b.packKey())
	default:
		if err := b.notAnInput(path); err != nil {
			return err
		}
	}
	var st bert.PackStats
	if err == nil {
		st, err = b.model.PackWeights(path, b.packKey())
	}
	if err != nil {
		if !auto {
			return fmt.Errorf("--pack %s: %w", mode, err)
		}
		fmt.Fprintf(b.warn, "warning: the weights are not packed (each product packs them again: slower, same results): %v\n", err)
		return nil
	}
	b.unpack = true
	b.evict(b.model.PackedWeights())
	if st.Written {
		fmt.Fprintf(b.warn, "packed %d weight matrices for the %s kernels into %s (%.1f MiB; %s)\n", st.Tensors, st.Variant, st.Path, float64(st.Bytes)/(1<<20), st.Why)
	}
	return nil
}

// packKey identifies the weights for packing: their fingerprint, without
// the vocabulary (which packing does not read).
func (b *Base) packKey() string {
	if w := b.ident.WeightsFingerprint; w != "" {
		return w
	}
	return b.ident.Fingerprint
}

// notAnInput refuses a pack file that is one of the files the base was
// read from (a mistyped --pack must not overwrite the model).
func (b *Base) notAnInput(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return nil // a new file
	}
	inputs := append([]string{b.vocabPath}, b.inputs...)
	for _, in := range inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return fmt.Errorf("--pack %s is the model's own %s: choose another file", path, filepath.Base(in))
		}
	}
	return nil
}

// Close releases the base: its mapping and packed weights. Tasks loaded on
// it must not be used afterwards.
func (b *Base) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	if b.unpack {
		err = b.model.Unpack()
	}
	if b.unquantize {
		if qerr := b.model.Unquantize(); err == nil {
			err = qerr
		}
	}
	if b.ck != nil {
		if cerr := b.ck.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Check reports whether the files the base's weights are mapped from (the
// checkpoint's model.safetensors and the packed weights' file) are still
// the files opened: not truncated nor rewritten in place since. The error
// names the file and wraps safetensors.ErrChanged; once a file changed,
// every later Check fails too (reopen the base). Cheap: an fstat and a
// comparison of 1 KiB per file (BenchmarkCheck: 5.6 µs for both files of
// the shipped model, 2-core VM).
func (b *Base) Check() error {
	if b.ck != nil {
		if err := b.ck.Check(); err != nil {
			return err
		}
	}
	return b.model.CheckPacked()
}

// Guard runs fn, a computation that reads the base's weights (a forward
// pass of one of its tasks), so that a mapped file changed under it is an
// error, never a crash nor silently other results: it checks the files
// before and after fn (Check), and a fault reading a truncated file on the
// calling goroutine becomes an error naming it (safetensors.Guard). Run
// and PredictMixed guard their passes; callers that run a task's model
// themselves (bert.Model.Forward on Task.Model) guard them with this.
func (b *Base) Guard(fn func() error) error {
	if err := b.Check(); err != nil {
		return err
	}
	if err := safetensors.Guard(fn); err != nil {
		return err
	}
	return b.Check()
}

// Dir is the checkpoint folder ("" for an in-memory base).
func (b *Base) Dir() string { return b.dir }

// Config is the base's BERT configuration.
func (b *Base) Config() bert.Config { return b.model.Config }

// Identity is what adapters trained on this base record of it: its
// fingerprint, name (the folder's absolute path) and configuration.
func (b *Base) Identity() adapter.Base { return b.ident }

// Fingerprint identifies the base: its weights, architecture and
// vocabulary (bert.BaseFingerprint; see adapter.Identify).
func (b *Base) Fingerprint() string { return b.ident.Fingerprint }

// Casing is the base's casing and what decided it.
func (b *Base) Casing() wordpiece.Casing { return b.casing }

// Tokenizer returns the base's tokenizer (with its casing).
func (b *Base) Tokenizer() *wordpiece.Tokenizer { return b.tokenizer(b.casing.Lowercase) }

func (b *Base) tokenizer(lower bool) *wordpiece.Tokenizer {
	if lower {
		return b.toks[1]
	}
	return b.toks[0]
}

// Vocab is the base's vocabulary.
func (b *Base) Vocab() *wordpiece.Vocab { return b.vocab }

// NewModel returns a new view of the base (bert.Model.View) for training
// a task on it: its parameters are its own, its weights the base's until
// made trainable.
func (b *Base) NewModel() *bert.Model { return b.model.View() }

// Model is the frozen base itself, for reading (inspect, benchmarks). It
// must not be changed.
func (b *Base) Model() *bert.Model { return b.model }

// Task is an adapter loaded onto a Base: a view of the base with the
// task's trained parameters.
type Task struct {
	name   string
	base   *Base
	cfg    adapter.FileConfig // the adapter file's configuration
	path   string             // the adapter's JSON file
	spec   *task.Spec
	model  *bert.Model // the view, with the task's parameters; read-only after Load
	tok    *wordpiece.Tokenizer
	maxLen int
}

// Load reads the adapter at path (adapter.Paths: STEM, STEM.json or
// STEM.safetensors) and adds it to b as task name, replacing a task of that
// name. The adapter must have been trained on this base (same fingerprint)
// with the casing it runs with.
func (b *Base) Load(name, path string) (*Task, error) {
	f, err := adapter.Read(path)
	if err != nil {
		return nil, err
	}
	return b.Add(name, f)
}

// Add is Load with an adapter file already read. The task keeps copies of
// the trained values, not f: a caller that drops f leaves each task holding
// its trained parameters once.
func (b *Base) Add(name string, f *adapter.File) (*Task, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if b.forced && f.Config.Lowercase != b.casing.Lowercase {
		return nil, fmt.Errorf("adapter %s was trained on text with lowercase %v, but lowercase %v was forced: text must be cased as in training",
			f.Path, f.Config.Lowercase, b.casing.Lowercase)
	}
	spec, err := SpecOf(&f.Config)
	if err != nil {
		return nil, err
	}
	if f.Config.MaxLen < minMaxLen || f.Config.MaxLen > b.model.Config.MaxPositions {
		return nil, fmt.Errorf("adapter %s: max_len %d is outside %d..%d (the base's positions)", f.Path, f.Config.MaxLen, minMaxLen, b.model.Config.MaxPositions)
	}
	view := b.model.View()
	if _, err := f.ApplyTo(view, b.ident, false); err != nil {
		return nil, err
	}
	t := &Task{name: name, base: b, cfg: f.Config, path: f.Path, spec: spec, model: view, tok: b.tokenizer(f.Config.Lowercase), maxLen: f.Config.MaxLen}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	b.tasks[name] = t
	return t, nil
}

// ValidName checks a task name: 1 to 64 letters, digits, '-', '_' or '.',
// not starting with '.'.
func ValidName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("task name %q: want 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("task name %q: want 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", name)
		}
	}
	return nil
}

// Remove takes the task called name off b; requests already running with
// it finish. It reports whether there was one.
func (b *Base) Remove(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.tasks[name]
	delete(b.tasks, name)
	return ok
}

// Task returns the task called name, or an error wrapping ErrUnknownTask.
func (b *Base) Task(name string) (*Task, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if t, ok := b.tasks[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownTask, name)
}

// Tasks returns the loaded tasks sorted by name.
func (b *Base) Tasks() []*Task {
	b.mu.RLock()
	ts := make([]*Task, 0, len(b.tasks))
	for _, t := range b.tasks {
		ts = append(ts, t)
	}
	b.mu.RUnlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// Name is the task's name on its base.
func (t *Task) Name() string { return t.name }

// Base is the base the task is loaded on.
func (t *Task) Base() *Base { return t.base }

// Spec is the task's specification (labels, pair or single text,
// regression, metrics).
func (t *Task) Spec() *task.Spec { return t.spec }

// Labels are the class names in class-index order; nil for regression.
func (t *Task) Labels() []string { return slices.Clone(t.spec.Labels) }

// Regression reports whether the task predicts a value rather than a class.
func (t *Task) Regression() bool { return t.spec.Regression }

// Pair reports whether the task takes text pairs.
func (t *Task) Pair() bool { return t.spec.Pair }

// MaxLen is the number of wordpieces (special tokens included) inputs are
// truncated to: the adapter's training length unless changed by WithMaxLen.
func (t *Task) MaxLen() int { return t.maxLen }

// File is the adapter file's configuration (method, training, base, ...).
func (t *Task) File() adapter.FileConfig { return t.cfg }

// Path is the adapter's JSON file.
func (t *Task) Path() string { return t.path }

// Tokenizer is the tokenizer the task's inputs go through (the casing it
// was trained with).
func (t *Task) Tokenizer() *wordpiece.Tokenizer { return t.tok }

// Model is the task's view of the base with its trained parameters; it
// must not be changed.
func (t *Task) Model() *bert.Model { return t.model }

// minMaxLen is the shortest encoding a task takes: [CLS] a [SEP], or for a
// pair [CLS] a [SEP] [SEP] (shorter ones cannot hold the special tokens,
// or hold no text).
const minMaxLen = 3

// WithMaxLen returns the task truncating inputs to n wordpieces instead
// (3 to the base's positions), sharing everything else; it is not added to
// the base.
func (t *Task) WithMaxLen(n int) (*Task, error) {
	if n < minMaxLen || n > t.base.model.Config.MaxPositions {
		return nil, fmt.Errorf("max length %d: want %d to %d (the base's positions)", n, minMaxLen, t.base.model.Config.MaxPositions)
	}
	c := *t
	c.maxLen = n
	return &c, nil
}

// SpecOf is the task spec an adapter was trained for, with its labels.
func SpecOf(c *adapter.FileConfig) (*task.Spec, error) {
	if c.Task == "tsv" {
		pc := task.DefaultPlain()
		if c.TaskName != "" {
			pc.Name = c.TaskName
		}
		pc.Regression = c.Regression
		if !c.Regression {
			pc.Labels = c.Labels
		}
		return task.Plain(pc)
	}
	spec, err := task.Lookup(c.Task)
	if err != nil {
		return nil, fmt.Errorf("adapter for task %q: %w", c.Task, err)
	}
	if spec.Regression != c.Regression || !slices.Equal(spec.Labels, c.Labels) {
		return nil, fmt.Errorf("adapter for task %s has labels %q (regression %v); the task has %q (regression %v)",
			c.Task, c.Labels, c.Regression, spec.Labels, spec.Regression)
	}
	return spec, nil
}
