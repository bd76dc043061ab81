package task

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRead reads arbitrary bytes as a TSV file of every GLUE task and the
// plain layout, labelled and not, strict and skipping bad rows: an error,
// or a dataset whose every example has valid text, a label in range (or a
// finite score) and a line in the file. Seeds: a few rows of each layout
// and testdata/fuzz/FuzzRead/.
func FuzzRead(f *testing.F) {
	seeds := []string{
		"sentence\tlabel\nit is good\t1\nbad\t0\n",
		"\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta b\tc d\n0\t3\t4\te\tf\n",
		"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\ty\t0\ts\ts\ta\tb\t3.5\n1\tg\tf\ty\t0\ts\ts\ta\tb\t7\n",
		"gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\r\n",
		"index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tnot_entailment\n",
		"index\tsentence\n0\tfoo\n1\t\n",
		"text\tlabel\nx\tpos\ny\tneg\nz\t\n",
		"\n\n\t\t\n", "", "a\tb\tc\n\xff\xfe\t1\n", "sentence\tlabel\nnan\tNaN\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	specs := GLUE()
	plain, err := Plain(DefaultPlain())
	if err != nil {
		f.Fatal(err)
	}
	specs = append(specs, plain)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, spec := range specs {
			for _, opt := range []Options{{}, {SkipBad: true}, {Unlabelled: true}} {
				ds, err := Read(spec, bytes.NewReader(data), "fuzz.tsv", opt)
				if err != nil {
					if !strings.Contains(err.Error(), "fuzz.tsv") {
						t.Fatalf("%s: error without the file's name: %v", spec.Name, err)
					}
					var re *RowError
					if errors.As(err, &re) && (re.Line < 1 || re.Line > bytes.Count(data, []byte("\n"))+1) {
						t.Fatalf("%s: error on line %d of a file of %d lines", spec.Name, re.Line, bytes.Count(data, []byte("\n"))+1)
					}
					continue
				}
				if len(ds.Examples) == 0 {
					t.Fatalf("%s: a dataset without examples", spec.Name)
				}
				for _, e := range ds.Examples {
					if !utf8.ValidString(e.A) || !utf8.ValidString(e.B) || strings.TrimSpace(e.A) == "" {
						t.Fatalf("%s: bad text %q %q", spec.Name, e.A, e.B)
					}
					if e.Line < 1 || e.Line > bytes.Count(data, []byte("\n"))+1 {
						t.Fatalf("%s: line %d", spec.Name, e.Line)
					}
					switch {
					case !ds.Labelled:
						if e.Label != -1 {
							t.Fatalf("%s: unlabelled example with label %d", spec.Name, e.Label)
						}
					case ds.Task.Regression:
						if math.IsNaN(float64(e.Score)) || math.IsInf(float64(e.Score), 0) {
							t.Fatalf("%s: score %v", spec.Name, e.Score)
						}
						if spec.Key == "stsb" && (e.Score < 0 || e.Score > 5) {
							t.Fatalf("STS-B score %v", e.Score)
						}
					default:
						if e.Label < 0 || e.Label >= len(ds.Labels) {
							t.Fatalf("%s: label %d of %d", spec.Name, e.Label, len(ds.Labels))
						}
					}
				}
				_ = ds.ClassCounts()
			}
		}
	})
}

// TestSTSBScoreRange checks that an STS-B score outside 0..5 is an error
// naming the row (it showed only as a diverging loss).
func TestSTSBScoreRange(t *testing.T) {
	spec, err := Lookup("stsb")
	if err != nil {
		t.Fatal(err)
	}
	data := "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
		"0\tg\tf\ty\t0\ts\ts\ta\tb\t3.5\n1\tg\tf\ty\t0\ts\ts\ta\tb\t37\n"
	_, err = Read(spec, strings.NewReader(data), "dev.tsv", Options{})
	if !errors.Is(err, ErrBadScore) || !strings.Contains(err.Error(), "dev.tsv:3") || !strings.Contains(err.Error(), "0..5") {
		t.Fatalf("got %v, want a bad score at dev.tsv:3", err)
	}
	ds, err := Read(spec, strings.NewReader(data), "dev.tsv", Options{SkipBad: true})
	if err != nil || len(ds.Examples) != 1 || ds.Skipped != 1 {
		t.Fatalf("SkipBad: %v, %+v", err, ds)
	}
}
