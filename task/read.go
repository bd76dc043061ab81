package task

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/petl-go/petl/internal/safefile"
)

// EnvData is the environment variable naming the data directory when no
// --data flag is given.
const EnvData = "PETL_DATA"

// Splits are the split names Load accepts. Test splits are unlabelled.
var Splits = []string{"train", "dev", "test"}

// Errors a reader returns, wrapped with the file and line; test with
// errors.Is.
var (
	ErrEmpty         = errors.New("empty file")
	ErrMissingColumn = errors.New("missing column")
	ErrColumnCount   = errors.New("wrong number of fields")
	ErrUnknownLabel  = errors.New("unknown label")
	ErrBadScore      = errors.New("bad score")
	ErrBadText       = errors.New("bad text")
)

// maxProblems is how many skipped rows' errors a Dataset keeps.
const maxProblems = 20

// Example is one row of a dataset.
type Example struct {
	ID    string  // the row's index/ID column, or its 0-based row number when the layout has none
	A, B  string  // the texts; B is "" for single-text tasks
	Label int     // class index into Dataset.Labels; -1 when unlabelled or for regression
	Score float32 // regression target (STS-B: 0..5); 0 when unlabelled or for classification
	Line  int     // 1-based line of the row in its file
}

// Dataset is one split of a task as read from a file.
type Dataset struct {
	// Task is the spec the file was read with. For a plain layout whose label
	// names came from the data, it is a copy with Labels set: read the other
	// splits with it so that class indices agree.
	Task     *Spec
	Examples []Example
	Labels   []string // class names in index order (= Task.Labels); nil for regression
	Labelled bool     // examples carry labels (false for test splits)
	Path     string   // file read
	Split    string   // "train", "dev", "test", or "" for ReadFile/Read
	Skipped  int      // malformed rows skipped (Options.SkipBad)
	Problems []error  // the first skipped rows' errors (at most 20)
}

// Classes returns the class index of every example.
func (d *Dataset) Classes() []int {
	out := make([]int, len(d.Examples))
	for i, e := range d.Examples {
		out[i] = e.Label
	}
	return out
}

// Targets returns the regression target of every example.
func (d *Dataset) Targets() []float32 {
	out := make([]float32, len(d.Examples))
	for i, e := range d.Examples {
		out[i] = e.Score
	}
	return out
}

// ClassCounts returns how many examples each class has (nil for regression
// or unlabelled data).
func (d *Dataset) ClassCounts() []int {
	if !d.Labelled || d.Task.Regression {
		return nil
	}
	counts := make([]int, len(d.Labels))
	for _, e := range d.Examples {
		counts[e.Label]++
	}
	return counts
}

// Options control reading.
type Options struct {
	// SkipBad skips malformed rows (wrong number of fields, unknown label,
	// unparsable score, empty text, invalid UTF-8) and counts them in
	// Dataset.Skipped instead of failing on the first.
	SkipBad bool
	// Unlabelled reads the file as unlabelled even if it is a train or dev
	// file (the label column, if any, is ignored). Test splits are always
	// read unlabelled.
	Unlabelled bool
}

// RowError is a malformed row: the file, its 1-based line and what is wrong.
type RowError struct {
	Path string
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Unwrap returns the cause (ErrColumnCount, ErrUnknownLabel, ...).
func (e *RowError) Unwrap() error { return e.Err }

// Load reads one split ("train", "dev" or "test") of a task from a data
// directory laid out as <dataDir>/<spec.Dir>/<split>.tsv (plain layout:
// <dataDir>/<split>.tsv). For convenience dataDir may also be the task's own
// folder or the folder holding glue/. Test splits are read unlabelled.
func Load(spec *Spec, dataDir, split string, opt Options) (*Dataset, error) {
	if !slices.Contains(Splits, split) {
		return nil, fmt.Errorf("task %s: unknown split %q (want one of %s)", spec.Name, split, strings.Join(Splits, ", "))
	}
	if dataDir == "" {
		return nil, fmt.Errorf("task %s: no data directory: pass the folder holding the GLUE task folders with --data DIR or $%s", spec.Name, EnvData)
	}
	if split == "test" {
		opt.Unlabelled = true
	}
	file := split + ".tsv"
	var candidates []string
	if spec.Dir == "" {
		candidates = []string{filepath.Join(dataDir, file)}
	} else {
		candidates = []string{
			filepath.Join(dataDir, spec.Dir, file),
			filepath.Join(dataDir, "glue", spec.Dir, file),
		}
		if strings.EqualFold(filepath.Base(filepath.Clean(dataDir)), spec.Dir) {
			candidates = append(candidates, filepath.Join(dataDir, file))
		}
	}
	for _, p := range candidates {
		_, err := os.Stat(p)
		if err == nil {
			ds, err := ReadFile(spec, p, opt)
			if ds != nil {
				ds.Split = split
			}
			return ds, err
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("task %s: %s split: %w", spec.Name, split, err)
		}
	}
	where := "DIR/" + file
	if spec.Dir != "" {
		where = "DIR/" + spec.Dir + "/" + file
	}
	err := &fs.PathError{Op: "open", Path: candidates[0], Err: fs.ErrNotExist}
	return nil, fmt.Errorf("task %s: %s split: %w (pass the data folder with --data DIR or $%s; expected %s)",
		spec.Name, split, err, EnvData, where)
}

// MaxFile bounds the TSV data petl reads in one file or stream (GLUE's
// largest, MNLI's train.tsv, is 93 MB).
const MaxFile = 1 << 30

// ReadFile reads one TSV file of the task: labelled (train/dev layout)
// unless opt.Unlabelled. path must be a regular file of at most MaxFile
// bytes: a named pipe or a device is an error at once (read a stream with
// Read).
func ReadFile(spec *Spec, path string, opt Options) (*Dataset, error) {
	data, err := safefile.ReadFile(path, MaxFile, "a data file")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("task %s: %w (GLUE data can be passed with --data DIR or $%s)", spec.Name, err, EnvData)
		}
		if errors.Is(err, safefile.ErrNotRegular) {
			return nil, fmt.Errorf("task %s: %w (to read a stream, give it on standard input)", spec.Name, err)
		}
		return nil, fmt.Errorf("task %s: %w", spec.Name, err)
	}
	return parse(spec, data, path, opt)
}

// Read reads a TSV stream of the task (e.g. standard input), of at most
// MaxFile bytes; name is used in messages.
func Read(spec *Spec, r io.Reader, name string, opt Options) (*Dataset, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("task %s: reading %s: %w", spec.Name, name, err)
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("task %s: %s: more than %d bytes of data: %w", spec.Name, name, MaxFile, safefile.ErrTooLarge)
	}
	return parse(spec, data, name, opt)
}

// resolved is a layout's columns as 0-based field indices (-1: absent).
type resolved struct {
	ncols         int
	id, a, b, lab int
	firstData     int // index into lines of the first data row
}

// MaxLine bounds the length of one line of a TSV file or of plain lines,
// in bytes.
const MaxLine = 16 << 20

// splitLines cuts the bytes of a TSV file or of plain lines into lines, the
// reading every reader of this package shares: a UTF-8 byte order mark at
// the start is dropped; lines end in "\n" (a final newline is optional, a
// "\r" before it is dropped); a line of more than MaxLine bytes is an error
// naming it (its 1-based number) in the file named path.
func splitLines(spec *Spec, data []byte, path string) ([]string, error) {
	lines := strings.Split(string(bytes.TrimPrefix(data, []byte("\uFEFF"))), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > MaxLine {
			err := fmt.Errorf("a line of %d bytes, more than %d: %w", len(l), MaxLine, bufio.ErrTooLong)
			return nil, fmt.Errorf("task %s: %w", spec.Name, &RowError{Path: path, Line: i + 1, Err: err})
		}
		lines[i] = l
	}
	return lines, nil
}

// reject handles a malformed row, err at the 1-based line of ds.Path: an
// error naming the file and line, or with skipBad nil after counting it in
// ds.Skipped (and keeping the first few in ds.Problems).
func (ds *Dataset) reject(skipBad bool, line int, err error) error {
	rerr := &RowError{Path: ds.Path, Line: line, Err: err}
	if !skipBad {
		return fmt.Errorf("task %s: %w", ds.Task.Name, rerr)
	}
	ds.Skipped++
	if len(ds.Problems) < maxProblems {
		ds.Problems = append(ds.Problems, rerr)
	}
	return nil
}

// noValidRows is the error of a read whose every row was malformed and
// skipped.
func (ds *Dataset) noValidRows() error {
	return fmt.Errorf("task %s: %s: no valid rows (%d malformed rows skipped; first: %v)", ds.Task.Name, ds.Path, ds.Skipped, ds.Problems[0])
}

// parse reads a whole file's bytes (lines as splitLines cuts them). Blank
// lines are skipped; fields are split on tabs only.
func parse(spec *Spec, data []byte, path string, opt Options) (*Dataset, error) {
	if len(bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\uFEFF")))) == 0 {
		return nil, fmt.Errorf("%s: %w (task %s)", path, ErrEmpty, spec.Name)
	}
	labelled := !opt.Unlabelled
	lay := spec.labelled
	if !labelled {
		lay = spec.unlabelled
	}
	if labelled && lay.label.IsZero() {
		return nil, fmt.Errorf("task %s: %s: no label column configured: cannot read labelled data", spec.Name, path)
	}
	lines, err := splitLines(spec, data, path)
	if err != nil {
		return nil, err
	}

	ds := &Dataset{Task: spec, Labelled: labelled, Path: path, Labels: spec.Labels}
	cols, err := resolveColumns(spec, lay, lines, path)
	if err != nil && !labelled && errors.Is(err, ErrMissingColumn) {
		// An unlabelled read of a train or dev file: use that layout and
		// ignore its labels.
		alt := spec.labelled
		alt.label = Column{}
		if c, err2 := resolveColumns(spec, alt, lines, path); err2 == nil {
			cols, err = c, nil
		}
	}
	if err != nil {
		return nil, err
	}

	fromData := labelled && !spec.Regression && spec.Labels == nil
	var raw []string // label strings when the names come from the data
	index := map[string]int{}
	for i, l := range spec.Labels {
		index[l] = i
	}
	fail := func(line int, err error) error { return ds.reject(opt.SkipBad, line, err) }

	row := 0
	for i := cols.firstData; i < len(lines); i++ {
		line := lines[i]
		lineNo := i + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		rowIdx := row
		row++
		f := strings.Split(line, "\t")
		if len(f) != cols.ncols {
			if err := fail(lineNo, fmt.Errorf("%w: %d tab-separated fields, want %d", ErrColumnCount, len(f), cols.ncols)); err != nil {
				return nil, err
			}
			continue
		}
		if !utf8.ValidString(line) {
			if err := fail(lineNo, fmt.Errorf("%w: invalid UTF-8", ErrBadText)); err != nil {
				return nil, err
			}
			continue
		}
		ex := Example{A: f[cols.a], Label: -1, Line: lineNo}
		if strings.TrimSpace(ex.A) == "" {
			if err := fail(lineNo, fmt.Errorf("%w: empty text in column %d", ErrBadText, cols.a+1)); err != nil {
				return nil, err
			}
			continue
		}
		if cols.b >= 0 {
			ex.B = f[cols.b]
		}
		if cols.id >= 0 {
			ex.ID = strings.TrimSpace(f[cols.id])
		} else {
			ex.ID = strconv.Itoa(rowIdx)
		}
		if labelled {
			v := strings.TrimSpace(f[cols.lab])
			switch {
			case spec.Regression:
				s, err := strconv.ParseFloat(v, 32)
				if err != nil || math.IsInf(s, 0) || math.IsNaN(s) {
					if err := fail(lineNo, fmt.Errorf("%w: %q in column %d is not a finite number", ErrBadScore, v, cols.lab+1)); err != nil {
						return nil, err
					}
					continue
				}
				if lo, hi, ok := scoreRange(spec); ok && (s < lo || s > hi) {
					if err := fail(lineNo, fmt.Errorf("%w: %v in column %d is outside %v..%v, the %s scale", ErrBadScore, v, cols.lab+1, lo, hi, spec.Name)); err != nil {
						return nil, err
					}
					continue
				}
				ex.Score = float32(s)
			case fromData:
				if v == "" {
					if err := fail(lineNo, fmt.Errorf("%w: empty label in column %d", ErrUnknownLabel, cols.lab+1)); err != nil {
						return nil, err
					}
					continue
				}
				raw = append(raw, v)
			default:
				k, ok := index[v]
				if !ok {
					if err := fail(lineNo, fmt.Errorf("%w %q in column %d (labels of %s: %s)", ErrUnknownLabel, v, cols.lab+1, spec.Name, quoteAll(spec.Labels))); err != nil {
						return nil, err
					}
					continue
				}
				ex.Label = k
			}
		}
		ds.Examples = append(ds.Examples, ex)
	}

	if len(ds.Examples) == 0 {
		if ds.Skipped > 0 {
			return nil, ds.noValidRows()
		}
		return nil, fmt.Errorf("%s: %w: no data rows (task %s)", path, ErrEmpty, spec.Name)
	}
	if fromData {
		names := distinct(raw)
		if len(names) < 2 {
			return nil, fmt.Errorf("task %s: %s: the label column holds only %s: need at least two classes (or give the label names)", spec.Name, path, quoteAll(names))
		}
		sortLabels(names)
		for i, n := range names {
			index[n] = i
		}
		for i := range ds.Examples {
			ds.Examples[i].Label = index[raw[i]]
		}
		ds.Task = spec.withLabels(names)
		ds.Task.setPlainMetrics()
		ds.Labels = names
	}
	return ds, nil
}

// scoreRange is the scale of a regression task's scores, when it has one:
// STS-B's similarity from 0 to 5 (a score outside it is a broken row, which
// would otherwise show only as a diverging loss).
func scoreRange(spec *Spec) (lo, hi float64, ok bool) {
	if spec.Key == "stsb" {
		return 0, 5, true
	}
	return 0, 0, false
}

// resolveColumns turns a layout's column references into field indices,
// reading the header when the layout has one.
func resolveColumns(spec *Spec, lay layout, lines []string, path string) (resolved, error) {
	r := resolved{id: -1, a: -1, b: -1, lab: -1}
	var header []string
	if lay.header {
		first := -1
		for i, l := range lines {
			if strings.TrimSpace(l) != "" {
				first = i
				break
			}
		}
		header = strings.Split(lines[first], "\t")
		for i := range header {
			header[i] = strings.TrimSpace(header[i])
		}
		r.ncols = len(header)
		r.firstData = first + 1
	} else {
		r.ncols = lay.ncols
		if r.ncols == 0 {
			for _, l := range lines {
				if strings.TrimSpace(l) != "" {
					r.ncols = len(strings.Split(l, "\t"))
					break
				}
			}
		}
	}
	find := func(c Column, what string) (int, error) {
		switch {
		case c.IsZero():
			return -1, nil
		case c.Index > 0:
			if c.Index > r.ncols {
				return 0, fmt.Errorf("task %s: %s: %w: %s column %s, but rows have %d fields", spec.Name, path, ErrMissingColumn, what, c, r.ncols)
			}
			return c.Index - 1, nil
		case header == nil:
			return 0, fmt.Errorf("task %s: %s: %s column %s is named but the layout has no header", spec.Name, path, what, c)
		}
		for i, h := range header {
			if h == c.Name {
				return i, nil
			}
		}
		if c.Optional {
			return -1, nil
		}
		return 0, fmt.Errorf("task %s: %s: %w: the header has no %s column %s (columns: %s)", spec.Name, path, ErrMissingColumn, what, c, quoteAll(header))
	}
	var err error
	if r.id, err = find(lay.id, "ID"); err != nil {
		return r, err
	}
	if r.a, err = find(lay.a, "text"); err != nil {
		return r, err
	}
	if r.b, err = find(lay.b, "second text"); err != nil {
		return r, err
	}
	if r.lab, err = find(lay.label, "label"); err != nil {
		return r, err
	}
	return r, nil
}

func distinct(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
