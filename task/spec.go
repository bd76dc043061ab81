package task

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Metric names used as keys of the maps Score returns.
const (
	Accuracy = "accuracy"
	F1       = "f1"
	MCC      = "mcc"
	Pearson  = "pearson"
	Spearman = "spearman"
)

// Column names one column of a TSV file: by its header name, or by its
// 1-based position when Index > 0 (Index wins when both are set). The zero
// Column names no column.
type Column struct {
	Name  string
	Index int // 1-based; 0: by Name
	// Optional: when the file's header lacks Name, the column is treated as
	// absent instead of being an error.
	Optional bool
}

// IsZero reports whether c names no column.
func (c Column) IsZero() bool { return c.Name == "" && c.Index == 0 }

// String gives c as a user would write it: its name, or "#3" for index 3.
func (c Column) String() string {
	if c.Index > 0 {
		return "#" + strconv.Itoa(c.Index)
	}
	return strconv.Quote(c.Name)
}

// ParseColumn reads a column given on a command line: a 1-based index
// ("3" or "#3") or a header name ("sentence"). An empty string gives the zero
// Column.
func ParseColumn(s string) Column {
	if n, err := strconv.Atoi(strings.TrimPrefix(s, "#")); err == nil && n > 0 {
		return Column{Index: n}
	}
	return Column{Name: s}
}

// layout describes how one kind of file is laid out: whether its first line
// is a header, how many fields a row has when there is none, and which
// columns hold the ID, the texts and the label.
type layout struct {
	header bool
	ncols  int // fields per row when !header; 0: as many as the first row
	id     Column
	a, b   Column
	label  Column
}

// Spec describes one task: where its files are, its labels and metrics.
// The GLUE specs come from Lookup; Plain makes one for a user's TSV files.
// A Spec is not modified after creation; Dataset.Task may be a copy with
// the label names read from the data.
type Spec struct {
	Name       string   // display name: "SST-2", "STS-B", or the plain layout's name
	Key        string   // canonical lower-case key: "sst2", "stsb", "tsv"
	Dir        string   // folder under the data directory; "" for the plain layout
	Labels     []string // label names in class-index order as written in the files; nil for regression or "from the data"
	Regression bool     // one real-valued target (Example.Score) instead of a class
	Pair       bool     // examples may have a second text (Example.B)
	Metrics    []string // metrics reported, the main one first
	Main       string   // the task's GLUE score: Metrics[0]
	GLUE       bool     // one of the GLUE tasks (its files have the GLUE layout)

	labelled   layout // train and dev files
	unlabelled layout // test files
}

// NumLabels is the size of the output layer: the number of classes, or 1 for
// regression. It is 0 for a classification spec whose labels are not known
// yet (plain layout before reading its training file).
func (s *Spec) NumLabels() int {
	if s.Regression {
		return 1
	}
	return len(s.Labels)
}

// PairInput reports whether an example whose second text is b is encoded
// as a pair ([CLS] a [SEP] b [SEP]) rather than a single text ([CLS] a
// [SEP]): always for the GLUE pair tasks, and for a layout whose second
// text is optional (the plain TSV's text_b) exactly when the example has
// one. Training, evaluation, predict and serve all follow it, so that a
// text is encoded the same way when an adapter is trained and when it is
// used.
func (s *Spec) PairInput(b string) bool { return b != "" || s.Pair && s.GLUE }

// LabelIndex returns the class index of the label name, or -1.
func (s *Spec) LabelIndex(name string) int {
	for i, l := range s.Labels {
		if l == name {
			return i
		}
	}
	return -1
}

// String returns s's display name.
func (s *Spec) String() string { return s.Name }

// withLabels returns a copy of s whose Labels are labels.
func (s *Spec) withLabels(labels []string) *Spec {
	c := *s
	c.Labels = labels
	return &c
}

var binary = []string{"0", "1"}

func named(name string) Column { return Column{Name: name} }

// glueSpecs are the GLUE tasks, in the order of the GLUE paper.
var glueSpecs = []*Spec{
	{
		Name: "CoLA", Key: "cola", Dir: "CoLA", Labels: binary,
		Metrics: []string{MCC, Accuracy}, Main: MCC, GLUE: true,
		// No header: source, label, original label, sentence.
		labelled:   layout{ncols: 4, a: Column{Index: 4}, label: Column{Index: 2}},
		unlabelled: layout{header: true, id: named("index"), a: named("sentence")},
	},
	{
		Name: "SST-2", Key: "sst2", Dir: "SST-2", Labels: binary,
		Metrics: []string{Accuracy}, Main: Accuracy, GLUE: true,
		labelled:   layout{header: true, a: named("sentence"), label: named("label")},
		unlabelled: layout{header: true, id: named("index"), a: named("sentence")},
	},
	{
		Name: "MRPC", Key: "mrpc", Dir: "MRPC", Labels: binary, Pair: true,
		Metrics: []string{F1, Accuracy}, Main: F1, GLUE: true,
		// Quality, #1 ID, #2 ID, #1 String, #2 String (train and dev start with a BOM).
		labelled:   layout{header: true, a: named("#1 String"), b: named("#2 String"), label: named("Quality")},
		unlabelled: layout{header: true, id: named("index"), a: named("#1 String"), b: named("#2 String")},
	},
	{
		Name: "STS-B", Key: "stsb", Dir: "STS-B", Regression: true, Pair: true,
		Metrics: []string{Pearson, Spearman}, Main: Pearson, GLUE: true,
		// index, genre, filename, year, old_index, source1, source2,
		// sentence1, sentence2, score: the texts are columns 8 and 9 (1-based).
		labelled:   layout{header: true, id: named("index"), a: named("sentence1"), b: named("sentence2"), label: named("score")},
		unlabelled: layout{header: true, id: named("index"), a: named("sentence1"), b: named("sentence2")},
	},
	{
		Name: "RTE", Key: "rte", Dir: "RTE", Labels: []string{"entailment", "not_entailment"}, Pair: true,
		Metrics: []string{Accuracy}, Main: Accuracy, GLUE: true,
		labelled:   layout{header: true, id: named("index"), a: named("sentence1"), b: named("sentence2"), label: named("label")},
		unlabelled: layout{header: true, id: named("index"), a: named("sentence1"), b: named("sentence2")},
	},
	{
		Name: "WNLI", Key: "wnli", Dir: "WNLI", Labels: binary, Pair: true,
		Metrics: []string{Accuracy}, Main: Accuracy, GLUE: true,
		labelled:   layout{header: true, id: named("index"), a: named("sentence1"), b: named("sentence2"), label: named("label")},
		unlabelled: layout{header: true, id: named("index"), a: named("sentence1"), b: named("sentence2")},
	},
}

// aliases maps the accepted task names (lower case) to Spec.Key.
var aliases = map[string]string{
	"cola": "cola",
	"sst2": "sst2", "sst-2": "sst2", "sst": "sst2",
	"mrpc": "mrpc",
	"stsb": "stsb", "sts-b": "stsb", "sts": "stsb",
	"rte":  "rte",
	"wnli": "wnli",
	"tsv":  "tsv", "plain": "tsv",
}

// GLUE returns the specs of the six GLUE tasks petl knows.
func GLUE() []*Spec { return append([]*Spec(nil), glueSpecs...) }

// Names returns the canonical keys Lookup accepts.
func Names() []string {
	names := make([]string, 0, len(glueSpecs)+1)
	for _, s := range glueSpecs {
		names = append(names, s.Key)
	}
	return append(names, "tsv")
}

// Lookup returns the spec of a task by name, ignoring case: "sst2", "SST-2",
// "sts-b", "CoLA", ... "tsv" (or "plain") gives the plain TSV layout with its
// defaults (see DefaultPlain). An unknown name is an error listing the known
// ones.
func Lookup(name string) (*Spec, error) {
	key, ok := aliases[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, fmt.Errorf("unknown task %q: known tasks are %s", name, strings.Join(Names(), ", "))
	}
	if key == "tsv" {
		return Plain(DefaultPlain())
	}
	for _, s := range glueSpecs {
		if s.Key == key {
			return s, nil
		}
	}
	panic("task: alias " + key + " has no spec")
}

// PlainConfig describes a user's TSV files: one example per line, fields
// separated by tabs (quotes are ordinary characters).
type PlainConfig struct {
	Name   string // shown in messages and reports; default "tsv"
	Header bool   // the first line names the columns
	ID     Column // optional: an ID column (kept in Example.ID, e.g. for predictions)
	Text   Column // required: the first text
	TextB  Column // optional: the second text of a pair
	Label  Column // the label or score; required for training and evaluation files
	// Labels are the class names in class-index order. Nil: read from the
	// training file (sorted, numerically when all are integers).
	Labels     []string
	Regression bool // the label column holds a real number
}

// DefaultPlain is the default plain layout: a header naming the columns
// "text", optionally "text_b", "label" and optionally "id"; classification
// with the label names read from the data.
func DefaultPlain() PlainConfig {
	return PlainConfig{
		Name:   "tsv",
		Header: true,
		ID:     Column{Name: "id", Optional: true},
		Text:   Column{Name: "text"},
		TextB:  Column{Name: "text_b", Optional: true},
		Label:  Column{Name: "label"},
	}
}

// Plain returns the spec of a plain TSV layout. Its files are
// <dataDir>/{train,dev,test}.tsv, or any file given to ReadFile. Metrics:
// accuracy, Matthews correlation (and F1 with two labels) for
// classification; Pearson and Spearman for regression.
func Plain(c PlainConfig) (*Spec, error) {
	if c.Name == "" {
		c.Name = "tsv"
	}
	if c.Text.IsZero() {
		return nil, fmt.Errorf("task %s: no text column given", c.Name)
	}
	if !c.Header {
		for _, col := range []Column{c.ID, c.Text, c.TextB, c.Label} {
			if col.Index == 0 && col.Name != "" {
				return nil, fmt.Errorf("task %s: column %s is named but the files have no header: give columns by 1-based index", c.Name, col)
			}
		}
	}
	if c.Regression && c.Labels != nil {
		return nil, fmt.Errorf("task %s: label names given for a regression task", c.Name)
	}
	if c.Labels != nil {
		if len(c.Labels) < 2 {
			return nil, fmt.Errorf("task %s: %d label names given, need at least 2", c.Name, len(c.Labels))
		}
		seen := map[string]bool{}
		for _, l := range c.Labels {
			if l == "" || seen[l] {
				return nil, fmt.Errorf("task %s: label names %q: empty or repeated name %q", c.Name, c.Labels, l)
			}
			seen[l] = true
		}
		c.Labels = append([]string(nil), c.Labels...)
	}
	lay := layout{header: c.Header, id: c.ID, a: c.Text, b: c.TextB, label: c.Label}
	s := &Spec{
		Name: c.Name, Key: "tsv", Labels: c.Labels, Regression: c.Regression,
		Pair:     !c.TextB.IsZero(),
		labelled: lay, unlabelled: lay,
	}
	s.unlabelled.label = Column{}
	s.setPlainMetrics()
	return s, nil
}

// setPlainMetrics chooses the plain layout's metrics from its kind and
// number of labels.
func (s *Spec) setPlainMetrics() {
	switch {
	case s.Regression:
		s.Metrics = []string{Pearson, Spearman}
	case len(s.Labels) == 2:
		s.Metrics = []string{Accuracy, F1, MCC}
	default:
		s.Metrics = []string{Accuracy, MCC}
	}
	s.Main = s.Metrics[0]
}

// sortLabels orders label names read from data: numerically when all are
// integers, otherwise by byte order.
func sortLabels(names []string) {
	ints := true
	for _, n := range names {
		if _, err := strconv.ParseInt(n, 10, 64); err != nil {
			ints = false
			break
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if ints {
			a, _ := strconv.ParseInt(names[i], 10, 64)
			b, _ := strconv.ParseInt(names[j], 10, 64)
			return a < b
		}
		return names[i] < names[j]
	})
}
