package task

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/petl-go/petl/internal/safefile"
)

// ReadLinesFile reads plain lines (ReadLines) from the regular file at
// path, of at most MaxFile bytes: a named pipe or a device is an error at
// once, saying to give a stream on standard input.
func ReadLinesFile(spec *Spec, path string, opt Options) (*Dataset, error) {
	data, err := safefile.ReadFile(path, MaxFile, "an input file")
	if err != nil {
		if errors.Is(err, safefile.ErrNotRegular) {
			return nil, fmt.Errorf("%w (to read a stream, give it on standard input: --input - < PATH)", err)
		}
		return nil, err
	}
	return parseLines(spec, data, path, opt)
}

// ReadLines reads unlabelled examples from plain lines (what petl predict
// reads from standard input): one text per line, or for a pair task two
// texts separated by a tab; name is used in messages. Lines are cut as in
// a TSV file (a byte order mark and "\r" dropped, at most MaxLine bytes
// each) and blank lines are skipped; an example's ID is its 0-based index
// among the examples. A malformed line (invalid UTF-8, the wrong number of
// fields, an empty first text) is an error naming the line, unless
// opt.SkipBad, which counts it instead; a read whose every line is
// malformed is an error. At most MaxFile bytes are read (more is an error).
func ReadLines(spec *Spec, r io.Reader, name string, opt Options) (*Dataset, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s: more than %d bytes of input: %w", name, MaxFile, safefile.ErrTooLarge)
	}
	return parseLines(spec, data, name, opt)
}

// parseLines reads the whole input of ReadLines, named name.
func parseLines(spec *Spec, data []byte, name string, opt Options) (*Dataset, error) {
	lines, err := splitLines(spec, data, name)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Task: spec, Labels: spec.Labels, Path: name}
	want, shape := 1, "one text per line"
	if spec.Pair {
		want, shape = 2, "two texts per line (a<TAB>b)"
	}
	for i, text := range lines {
		line := i + 1
		if strings.TrimSpace(text) == "" {
			continue
		}
		var bad error
		a, b, _ := strings.Cut(text, "\t")
		switch n := strings.Count(text, "\t") + 1; {
		case !utf8.ValidString(text):
			bad = fmt.Errorf("%w: invalid UTF-8", ErrBadText)
		case n != want:
			bad = fmt.Errorf("%w: %d tab-separated fields; task %s takes %s", ErrColumnCount, n, spec.Name, shape)
		case strings.TrimSpace(a) == "":
			bad = fmt.Errorf("%w: empty text in column 1", ErrBadText)
		}
		if bad != nil {
			if err := ds.reject(opt.SkipBad, line, bad); err != nil {
				return nil, err
			}
			continue
		}
		ds.Examples = append(ds.Examples, Example{ID: strconv.Itoa(len(ds.Examples)), A: a, B: b, Label: -1, Line: line})
	}
	switch {
	case len(ds.Examples) > 0:
		return ds, nil
	case ds.Skipped > 0:
		return nil, ds.noValidRows()
	}
	return nil, fmt.Errorf("%s: %w: no input lines", name, ErrEmpty)
}
