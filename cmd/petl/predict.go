package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/task"
)

func init() {
	commands["predict"] = command{"predict with an adapter on a TSV file or lines from stdin (GLUE submission TSV)", runPredict}
}

func runPredict(ctx context.Context, args []string) error {
	fs := newFlagSet("predict")
	af := addAdaptedFlags(fs, "skip malformed rows (counted and reported) instead of failing")
	input := fs.String("input", "-", "TSV file in the task's layout (a GLUE test.tsv, say); - reads lines from stdin: one text per line, or two tab-separated texts for a pair task")
	out := fs.String("out", "-", "output file; - for stdout")
	format := fs.String("format", "tsv", "output format: tsv (GLUE submission layout: index<TAB>prediction; --probs adds a column per class) or jsonl (one JSON object per input: index, label, score, probabilities or value, tokens, truncated)")
	lines := fs.Bool("lines", false, "read --input as plain lines, as from stdin, instead of the task's TSV layout")
	probs := fs.Bool("probs", false, "tsv: add each class's probability, one column per label (p_LABEL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "tsv" && *format != "jsonl" {
		return badFlag("--format %q: want tsv or jsonl", *format)
	}
	if *probs && *format != "tsv" {
		return badFlag("--probs is for --format tsv (jsonl always has the probabilities)")
	}
	if *af.batch <= 0 {
		return badFlag("--batch %d: want a positive number", *af.batch)
	}
	if *af.maxLen < 0 || *af.maxLen == 1 || *af.maxLen == 2 {
		return badFlag("--max-len %d: want 3 or more (0: the adapter's)", *af.maxLen)
	}
	toFile := *out != "-" && *out != ""
	fromStdin := *input == "-" || *input == ""
	if toFile && !fromStdin && sameFile(*out, *input) {
		return badFlag("--out %s is the --input file: choose another file", *out)
	}
	am, err := af.loadContext(ctx)
	if err != nil {
		return err
	}
	defer am.close()
	tk := am.task
	if *af.maxLen != 0 {
		if tk, err = tk.WithMaxLen(*af.maxLen); err != nil {
			return badFlag("--max-len: %v", err)
		}
	}
	if toFile {
		// Before reading the input: nothing is predicted for an output
		// that cannot be written.
		inputs := af.inputs(am)
		if !fromStdin {
			inputs = append(inputs, inputFile{"the --input file", *input})
		}
		if err := checkOutputFile("--out "+*out, *out, predictionsKind, inputs); err != nil {
			return err
		}
	}

	ds, err := interruptible(ctx, func() (*task.Dataset, error) {
		switch {
		case fromStdin:
			return task.ReadLines(am.spec, stdin, "stdin", task.Options{SkipBad: *af.skipBad})
		case *lines:
			return task.ReadLinesFile(am.spec, *input, task.Options{SkipBad: *af.skipBad})
		default:
			return task.ReadFile(am.spec, *input, task.Options{Unlabelled: true, SkipBad: *af.skipBad})
		}
	}, nil)
	if err != nil {
		return err
	}
	reportSkipped(os.Stderr, ds)
	if len(ds.Examples) == 0 {
		return fmt.Errorf("%s: no examples to predict", ds.Path)
	}
	preds, err := predictDataset(ctx, tk, ds, *af.batch)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	write := func(w io.Writer) error {
		if *format == "jsonl" {
			return writeJSONL(w, tk, ds.Examples, preds)
		}
		return writeTSV(w, tk, ds.Examples, preds, *probs)
	}
	if !toFile {
		return write(os.Stdout)
	}
	if err := safefile.WriteAtomic(*out, write); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d predictions written to %s\n", len(preds), *out)
	return nil
}

// predictDataset predicts every example of ds with tk, batch examples at a
// time (an example is a pair when it has a second text, and every one of
// a GLUE pair task: Spec.PairInput), stopping when ctx is cancelled (checked
// between forward passes). Every pass runs under the base's guard
// (petl.Base.Run): a model file changed meanwhile is an error naming it.
// An input the task cannot take is an error naming its line.
func predictDataset(ctx context.Context, tk *petl.Task, ds *task.Dataset, batch int) ([]petl.Prediction, error) {
	spec := tk.Spec()
	preds := make([]petl.Prediction, 0, len(ds.Examples))
	ins := make([]petl.Input, 0, batch)
	for lo := 0; lo < len(ds.Examples); lo += batch {
		hi := min(lo+batch, len(ds.Examples))
		ins = ins[:0]
		for i := lo; i < hi; i++ {
			ex := &ds.Examples[i]
			in := petl.Input{Text: ex.A, TextB: ex.B, Pair: spec.PairInput(ex.B)}
			if err := tk.Check(in); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", ds.Path, ex.Line, err)
			}
			ins = append(ins, in)
		}
		p, err := tk.Predict(ctx, ins...)
		if err != nil {
			if ctx.Err() != nil && err == ctx.Err() {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", ds.Path, err)
		}
		preds = append(preds, p...)
	}
	return preds, nil
}

// writeTSV writes predictions in the GLUE submission layout (index,
// prediction), with withProbs a column p_LABEL per class after it.
func writeTSV(w io.Writer, tk *petl.Task, examples []task.Example, preds []petl.Prediction, withProbs bool) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("index\tprediction")
	if withProbs && !tk.Regression() {
		for _, l := range tk.Labels() {
			bw.WriteString("\tp_" + l)
		}
	}
	bw.WriteByte('\n')
	for i, ex := range examples {
		p := preds[i]
		bw.WriteString(ex.ID)
		bw.WriteByte('\t')
		if tk.Regression() {
			bw.WriteString(strconv.FormatFloat(p.Score, 'f', -1, 32))
		} else {
			bw.WriteString(p.Label)
			if withProbs {
				for _, q := range p.Probs {
					bw.WriteByte('\t')
					bw.WriteString(strconv.FormatFloat(q, 'f', 6, 64))
				}
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// jsonlRecord is one line of --format jsonl.
type jsonlRecord struct {
	Index     string             `json:"index"`
	Line      int                `json:"line,omitempty"`
	Label     string             `json:"label,omitempty"`
	Score     float64            `json:"score"`
	Probs     map[string]float64 `json:"probabilities,omitempty"`
	Value     *float64           `json:"value,omitempty"`
	Tokens    int                `json:"tokens"`
	Truncated bool               `json:"truncated,omitempty"`
}

// writeJSONL writes one JSON object per prediction: the example's index
// (its ID) and input line, the label and its probability with every
// class's probability, or the value for regression.
func writeJSONL(w io.Writer, tk *petl.Task, examples []task.Example, preds []petl.Prediction) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	labels := tk.Labels()
	for i, ex := range examples {
		p := preds[i]
		r := jsonlRecord{Index: ex.ID, Line: ex.Line, Label: p.Label, Score: p.Score, Tokens: p.Tokens, Truncated: p.Truncated}
		if tk.Regression() {
			v := p.Score
			r.Value = &v
		} else {
			r.Probs = make(map[string]float64, len(labels))
			for c, q := range p.Probs {
				r.Probs[labels[c]] = q
			}
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}
