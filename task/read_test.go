package task

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTask writes files under dir/<taskDir>/ and returns dir.
func writeTask(t *testing.T, taskDir string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, taskDir), 0o755))
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, taskDir, name), []byte(body), 0o644))
	}
	return dir
}

func mustLookup(t *testing.T, name string) *Spec {
	t.Helper()
	s, err := Lookup(name)
	require.NoError(t, err)
	return s
}

func TestMalformedGLUEFiles(t *testing.T) {
	tests := []struct {
		name, task, body string
		wantErr          error  // errors.Is target
		wantMsg          string // substring of the message
		wantLine         int    // RowError line, 0: not a row error
		skipped          int    // with SkipBad: rows skipped (-1: still an error)
		kept             int    // with SkipBad: examples kept
	}{
		{
			name: "too few fields", task: "sst2",
			body:    "sentence\tlabel\ngood film \t1\nno label here\nbad film \t0\n",
			wantErr: ErrColumnCount, wantMsg: "1 tab-separated fields, want 2", wantLine: 3,
			skipped: 1, kept: 2,
		},
		{
			name: "too many fields (a tab inside a text)", task: "rte",
			body:    "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\textra\tentailment\n",
			wantErr: ErrColumnCount, wantMsg: "5 tab-separated fields, want 4", wantLine: 3,
			skipped: 1, kept: 1,
		},
		{
			name: "unknown label", task: "rte",
			body:    "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailed\n1\ta\tb\tnot_entailment\n",
			wantErr: ErrUnknownLabel, wantMsg: `"entailed"`, wantLine: 2,
			skipped: 1, kept: 1,
		},
		{
			name: "numeric label out of range", task: "cola",
			body:    "src\t1\t\tA fine sentence.\nsrc\t2\t\tAnother.\n",
			wantErr: ErrUnknownLabel, wantMsg: `labels of CoLA: "0", "1"`, wantLine: 2,
			skipped: 1, kept: 1,
		},
		{
			name: "unparsable score", task: "stsb",
			body: "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
				"0\tg\tf\ty\t0\tn\tn\tA man.\tA person.\t4.2\n" +
				"1\tg\tf\ty\t0\tn\tn\tA man.\tA dog.\tfour\n",
			wantErr: ErrBadScore, wantMsg: `"four"`, wantLine: 3,
			skipped: 1, kept: 1,
		},
		{
			name: "NaN score", task: "stsb",
			body: "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
				"0\tg\tf\ty\t0\tn\tn\tA man.\tA person.\tNaN\n" +
				"1\tg\tf\ty\t0\tn\tn\tA man.\tA dog.\t1\n",
			wantErr: ErrBadScore, wantLine: 2,
			skipped: 1, kept: 1,
		},
		{
			name: "empty text", task: "sst2",
			body:    "sentence\tlabel\n \t1\nfine \t0\n",
			wantErr: ErrBadText, wantLine: 2,
			skipped: 1, kept: 1,
		},
		{
			name: "invalid UTF-8", task: "sst2",
			body:    "sentence\tlabel\nbad \xff byte\t1\nfine \t0\n",
			wantErr: ErrBadText, wantMsg: "UTF-8", wantLine: 2,
			skipped: 1, kept: 1,
		},
		{
			name: "empty file", task: "sst2", body: "",
			wantErr: ErrEmpty, skipped: -1,
		},
		{
			name: "only blank lines", task: "cola", body: "\n\n  \n",
			wantErr: ErrEmpty, skipped: -1,
		},
		{
			name: "header only", task: "wnli", body: "index\tsentence1\tsentence2\tlabel\n",
			wantErr: ErrEmpty, wantMsg: "no data rows", skipped: -1,
		},
		{
			name: "header lacks a column", task: "mrpc",
			body:    "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 Text\n1\t1\t2\ta\tb\n",
			wantErr: ErrMissingColumn, wantMsg: `"#2 String"`, skipped: -1,
		},
		{
			name: "every row bad", task: "sst2",
			body:    "sentence\tlabel\na\nb\n",
			wantErr: ErrColumnCount, wantLine: 2, wantMsg: "", skipped: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustLookup(t, tc.task)
			dir := writeTask(t, spec.Dir, map[string]string{"train.tsv": tc.body})
			path := filepath.Join(dir, spec.Dir, "train.tsv")

			_, err := Load(spec, dir, "train", Options{})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Contains(t, err.Error(), path, "the error names the file")
			if tc.wantMsg != "" {
				assert.Contains(t, err.Error(), tc.wantMsg)
			}
			var re *RowError
			if tc.wantLine > 0 {
				require.True(t, errors.As(err, &re), "row error expected: %v", err)
				assert.Equal(t, tc.wantLine, re.Line)
				assert.Contains(t, err.Error(), path+":"+strconv.Itoa(tc.wantLine)+":")
			} else {
				assert.False(t, errors.As(err, &re), "not a row error: %v", err)
			}

			ds, err := Load(spec, dir, "train", Options{SkipBad: true})
			if tc.skipped < 0 {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.skipped, ds.Skipped)
			assert.Len(t, ds.Problems, tc.skipped)
			assert.Len(t, ds.Examples, tc.kept)
			for _, ex := range ds.Examples {
				assert.NotEqual(t, tc.wantLine, ex.Line, "the bad line was skipped")
			}
		})
	}
}

func TestLineEndingsAndBlankLines(t *testing.T) {
	body := "\uFEFFsentence\tlabel\r\n\r\nfirst \t1\r\n\nsecond \t0" // CRLF, blank lines, no final newline
	spec := mustLookup(t, "sst2")
	ds, err := Read(spec, strings.NewReader(body), "stdin", Options{})
	require.NoError(t, err)
	require.Len(t, ds.Examples, 2)
	assert.Equal(t, Example{ID: "0", A: "first ", Label: 1, Line: 3}, ds.Examples[0])
	assert.Equal(t, Example{ID: "1", A: "second ", Label: 0, Line: 5}, ds.Examples[1])
	assert.Equal(t, "stdin", ds.Path)
}

func TestQuotesAreNotQuoting(t *testing.T) {
	body := "index\tsentence1\tsentence2\tlabel\n7\t\"He said, \"\"no\tShe \"left\".\t1\n"
	ds, err := Read(mustLookup(t, "wnli"), strings.NewReader(body), "x.tsv", Options{})
	require.NoError(t, err)
	require.Len(t, ds.Examples, 1)
	assert.Equal(t, `"He said, ""no`, ds.Examples[0].A)
	assert.Equal(t, `She "left".`, ds.Examples[0].B)
	assert.Equal(t, "7", ds.Examples[0].ID)
}

func TestLoadErrors(t *testing.T) {
	spec := mustLookup(t, "cola")
	dir := t.TempDir()

	_, err := Load(spec, dir, "train", Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), filepath.Join(dir, "CoLA", "train.tsv"))
	assert.Contains(t, err.Error(), "--data")
	assert.Contains(t, err.Error(), "$PETL_DATA")

	_, err = Load(spec, dir, "validation", Options{})
	assert.ErrorContains(t, err, `unknown split "validation"`)

	_, err = Load(spec, "", "train", Options{})
	assert.ErrorContains(t, err, "--data")

	_, err = ReadFile(spec, filepath.Join(dir, "nope.tsv"), Options{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "PETL_DATA")

	// A test file read as labelled: its rows have the test layout.
	d := writeTask(t, "CoLA", map[string]string{"dev.tsv": "index\tsentence\n0\tA sentence.\n"})
	_, err = Load(spec, d, "dev", Options{})
	assert.ErrorIs(t, err, ErrColumnCount)
}

func TestPlainTSV(t *testing.T) {
	tests := []struct {
		name       string
		cfg        func(*PlainConfig)
		train, dev string
		wantLabels []string
		wantA, wB  []string
		wantClass  []int // train classes
		wantScore  []float32
		devClass   []int
		wantErr    error
		errMsg     string
	}{
		{
			name:       "defaults, labels from the data sorted numerically",
			train:      "text\tlabel\nx\t10\ny\t2\nz\t10\nw\t-1\n",
			dev:        "label\ttext\n2\tp\n-1\tq\n",
			wantLabels: []string{"-1", "2", "10"},
			wantA:      []string{"x", "y", "z", "w"},
			wantClass:  []int{2, 1, 2, 0},
			devClass:   []int{1, 0},
		},
		{
			name:       "text_b found by name, string labels sorted",
			train:      "id\ttext\ttext_b\tlabel\na1\tp\th\tneutral\na2\tq\ti\tcontradiction\na3\tr\tj\tentailment\n",
			dev:        "id\ttext\ttext_b\tlabel\nb1\tp\th\tentailment\n",
			wantLabels: []string{"contradiction", "entailment", "neutral"},
			wantA:      []string{"p", "q", "r"},
			wB:         []string{"h", "i", "j"},
			wantClass:  []int{2, 0, 1},
			devClass:   []int{1},
		},
		{
			name: "no header, columns by index, labels given",
			cfg: func(c *PlainConfig) {
				*c = PlainConfig{Text: Column{Index: 3}, Label: Column{Index: 1}, Labels: []string{"neg", "pos"}}
			},
			train:      "pos\tignored\tgreat\nneg\tignored\tawful\n",
			dev:        "neg\tx\tmeh\n",
			wantLabels: []string{"neg", "pos"},
			wantA:      []string{"great", "awful"},
			wantClass:  []int{1, 0},
			devClass:   []int{0},
		},
		{
			name:      "regression",
			cfg:       func(c *PlainConfig) { c.Regression = true; c.Label = Column{Name: "y"} },
			train:     "text\ty\na\t0.5\nb\t-3e2\n",
			dev:       "text\ty\na\t1\n",
			wantA:     []string{"a", "b"},
			wantScore: []float32{0.5, -300},
		},
		{
			name:    "given label column missing from header",
			cfg:     func(c *PlainConfig) { c.Label = Column{Name: "gold"} },
			train:   "text\tlabel\na\t1\n",
			wantErr: ErrMissingColumn, errMsg: `"gold" (columns: "text", "label")`,
		},
		{
			name: "index past the last column",
			cfg: func(c *PlainConfig) {
				c.Header = false
				c.ID = Column{}
				c.TextB = Column{}
				c.Text = Column{Index: 1}
				c.Label = Column{Index: 3}
			},
			train:   "a\t1\n",
			wantErr: ErrMissingColumn, errMsg: "#3",
		},
		{
			name:    "label given names, data has another",
			cfg:     func(c *PlainConfig) { c.Labels = []string{"a", "b"} },
			train:   "text\tlabel\nx\ta\ny\tc\n",
			wantErr: ErrUnknownLabel, errMsg: `"c"`,
		},
		{
			name:   "one class only",
			train:  "text\tlabel\nx\t1\ny\t1\n",
			errMsg: "need at least two classes",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultPlain()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			spec, err := Plain(cfg)
			require.NoError(t, err)
			dir := writeTask(t, "", map[string]string{"train.tsv": tc.train, "dev.tsv": tc.dev})
			ds, err := Load(spec, dir, "train", Options{})
			if tc.wantErr != nil || tc.errMsg != "" {
				require.Error(t, err)
				if tc.wantErr != nil {
					assert.ErrorIs(t, err, tc.wantErr)
				}
				assert.Contains(t, err.Error(), tc.errMsg)
				return
			}
			require.NoError(t, err)
			var as, bs []string
			for _, ex := range ds.Examples {
				as, bs = append(as, ex.A), append(bs, ex.B)
			}
			assert.Equal(t, tc.wantA, as)
			if tc.wB != nil {
				assert.Equal(t, tc.wB, bs)
				assert.True(t, spec.Pair)
			}
			if cfg.Regression {
				assert.Equal(t, tc.wantScore, ds.Targets())
				assert.Equal(t, Pearson, ds.Task.Main)
				return
			}
			assert.Equal(t, tc.wantLabels, ds.Labels)
			assert.Equal(t, tc.wantLabels, ds.Task.Labels)
			assert.Equal(t, len(tc.wantLabels), ds.Task.NumLabels())
			assert.Equal(t, tc.wantClass, ds.Classes())
			if len(tc.wantLabels) == 2 {
				assert.Contains(t, ds.Task.Metrics, F1)
			} else {
				assert.NotContains(t, ds.Task.Metrics, F1)
			}

			// The dev split read with the training set's spec shares its classes.
			dev, err := Load(ds.Task, dir, "dev", Options{})
			require.NoError(t, err)
			assert.Equal(t, tc.devClass, dev.Classes())
		})
	}
}

func TestPlainConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  PlainConfig
		msg  string
	}{
		{"no text column", PlainConfig{Header: true}, "no text column"},
		{"named column without header", PlainConfig{Text: Column{Name: "text"}}, "no header"},
		{"one label", PlainConfig{Header: true, Text: Column{Name: "t"}, Labels: []string{"a"}}, "at least 2"},
		{"repeated label", PlainConfig{Header: true, Text: Column{Name: "t"}, Labels: []string{"a", "a"}}, "repeated"},
		{"labels for regression", PlainConfig{Header: true, Text: Column{Name: "t"}, Labels: []string{"a", "b"}, Regression: true}, "regression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plain(tc.cfg)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestPlainUnlabelled(t *testing.T) {
	spec, err := Plain(DefaultPlain())
	require.NoError(t, err)
	// Without a label column: fine for prediction, an error for training.
	dir := writeTask(t, "", map[string]string{"test.tsv": "id\ttext\nq1\thello\n", "train.tsv": "id\ttext\nq1\thello\n"})
	ds, err := Load(spec, dir, "test", Options{})
	require.NoError(t, err)
	assert.Equal(t, []Example{{ID: "q1", A: "hello", Label: -1, Line: 2}}, ds.Examples)
	_, err = Load(spec, dir, "train", Options{})
	assert.ErrorIs(t, err, ErrMissingColumn)
	assert.ErrorContains(t, err, `label column "label"`)
}

func TestParseColumn(t *testing.T) {
	assert.Equal(t, Column{Index: 3}, ParseColumn("3"))
	assert.Equal(t, Column{Index: 3}, ParseColumn("#3"))
	assert.Equal(t, Column{Name: "sentence"}, ParseColumn("sentence"))
	assert.Equal(t, Column{Name: "0"}, ParseColumn("0"))
	assert.True(t, ParseColumn("").IsZero())
}

func TestLookup(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sst2", "SST-2"}, {"SST-2", "SST-2"}, {"sst-2", "SST-2"},
		{"cola", "CoLA"}, {"CoLA", "CoLA"},
		{"mrpc", "MRPC"}, {"stsb", "STS-B"}, {"STS-B", "STS-B"},
		{"rte", "RTE"}, {" WNLI ", "WNLI"}, {"tsv", "tsv"},
	}
	for _, tc := range tests {
		s, err := Lookup(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, s.Name)
	}
	_, err := Lookup("mnli")
	require.Error(t, err)
	for _, n := range []string{"cola", "sst2", "mrpc", "stsb", "rte", "wnli", "tsv"} {
		assert.Contains(t, err.Error(), n)
	}

	mains := map[string]string{"cola": MCC, "sst2": Accuracy, "mrpc": F1, "stsb": Pearson, "rte": Accuracy, "wnli": Accuracy}
	for _, s := range GLUE() {
		assert.Equal(t, mains[s.Key], s.Main, s.Name)
		assert.Equal(t, s.Main, s.Metrics[0], s.Name)
		if s.Regression {
			assert.Equal(t, 1, s.NumLabels())
		} else {
			assert.Equal(t, 2, s.NumLabels())
		}
	}
}
