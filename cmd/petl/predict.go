package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/petl-go/petl/bert/safetensors"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
)

func init() {
	commands["predict"] = command{"predict with an adapter on a TSV file or lines from stdin (GLUE submission TSV)", runPredict}
}

func runPredict(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	af := addAdaptedFlags(fs, "skip malformed rows (counted and reported) instead of failing")
	input := fs.String("input", "-", "TSV file in the task's layout (a GLUE test.tsv, say); - reads lines from stdin: one text per line, or two tab-separated texts for a pair task")
	out := fs.String("out", "-", "output file (GLUE submission layout: index<TAB>prediction); - for stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	am, err := af.load()
	if err != nil {
		return err
	}
	defer am.close()

	var ds *task.Dataset
	if *input == "-" || *input == "" {
		ds, err = readLines(am.spec, os.Stdin, "stdin", *af.skipBad)
	} else {
		ds, err = task.ReadFile(am.spec, *input, task.Options{Unlabelled: true, SkipBad: *af.skipBad})
	}
	if err != nil {
		return err
	}
	reportSkipped(os.Stderr, ds)
	if len(ds.Examples) == 0 {
		return fmt.Errorf("%s: no examples to predict", ds.Path)
	}
	preds, err := train.Predict(am.model, am.tok, ds, af.maxLenFor(am), *af.batch)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		if am.spec.Regression {
			return task.WritePredictions(w, am.spec, ds.Examples, preds)
		}
		classes := make([]int, len(preds))
		for i, p := range preds {
			classes[i] = int(p)
		}
		return task.WritePredictions(w, am.spec, ds.Examples, classes)
	}
	if *out == "-" || *out == "" {
		return write(os.Stdout)
	}
	if err := safetensors.WriteAtomic(*out, write); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d predictions written to %s\n", len(preds), *out)
	return nil
}

// readLines reads examples from plain lines: one text per line, or for a
// pair task two texts separated by a tab. Blank lines are skipped; an
// example's ID is its 0-based index among the examples. A malformed line
// (wrong number of fields, invalid UTF-8) is an error naming the line,
// unless skipBad, which counts it instead.
func readLines(spec *task.Spec, r io.Reader, name string, skipBad bool) (*task.Dataset, error) {
	ds := &task.Dataset{Task: spec, Labels: spec.Labels, Path: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	want := 1
	if spec.Pair {
		want = 2
	}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		var bad error
		fields := strings.Split(text, "\t")
		switch {
		case !utf8.ValidString(text):
			bad = fmt.Errorf("%w: invalid UTF-8", task.ErrBadText)
		case want == 1 && len(fields) != 1:
			bad = fmt.Errorf("%w: %d tab-separated fields; task %s takes one text per line", task.ErrColumnCount, len(fields), spec.Name)
		case want == 2 && len(fields) != 2:
			bad = fmt.Errorf("%w: %d tab-separated fields; task %s takes two texts per line (a<TAB>b)", task.ErrColumnCount, len(fields), spec.Name)
		}
		if bad != nil {
			rerr := &task.RowError{Path: name, Line: line, Err: bad}
			if !skipBad {
				return nil, fmt.Errorf("task %s: %w", spec.Name, rerr)
			}
			ds.Skipped++
			if len(ds.Problems) < 20 {
				ds.Problems = append(ds.Problems, rerr)
			}
			continue
		}
		ex := task.Example{ID: strconv.Itoa(len(ds.Examples)), A: fields[0], Label: -1, Line: line}
		if want == 2 {
			ex.B = fields[1]
		}
		ds.Examples = append(ds.Examples, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(ds.Examples) == 0 && ds.Skipped == 0 {
		return nil, fmt.Errorf("%s: %w: no input lines", name, task.ErrEmpty)
	}
	return ds, nil
}
