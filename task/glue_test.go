package task

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// glueDir finds the shared GLUE data (see sharedtest), skipping the test
// when it is absent.
func glueDir(t *testing.T) string {
	t.Helper()
	return sharedtest.Path(t, "data", "glue")
}

// rawRows reads a file independently of the package: its lines split on
// tabs, BOM and final empty line removed.
func rawRows(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows [][]string
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "\uFEFF")
		rows = append(rows, strings.Split(line, "\t"))
	}
	require.NoError(t, sc.Err())
	return rows
}

// TestGLUERowCounts reads every GLUE file and checks the row counts of the
// data README.
func TestGLUERowCounts(t *testing.T) {
	dir := glueDir(t)
	counts := map[string][3]int{ // train, dev, test (-1: no file)
		"cola": {8551, 1043, 1063},
		"sst2": {67349, 872, -1},
		"mrpc": {3668, 408, 1725},
		"stsb": {5749, 1500, 1379},
		"rte":  {2490, 277, 3000},
		"wnli": {635, 71, 146},
	}
	for _, spec := range GLUE() {
		for i, split := range Splits {
			want := counts[spec.Key][i]
			t.Run(spec.Name+"/"+split, func(t *testing.T) {
				ds, err := Load(spec, dir, split, Options{})
				if want < 0 {
					require.Error(t, err)
					assert.ErrorIs(t, err, os.ErrNotExist)
					assert.Contains(t, err.Error(), filepath.Join(spec.Dir, split+".tsv"))
					assert.Contains(t, err.Error(), "--data")
					assert.Contains(t, err.Error(), "PETL_DATA")
					return
				}
				require.NoError(t, err)
				assert.Len(t, ds.Examples, want)
				assert.Zero(t, ds.Skipped)
				assert.Equal(t, split != "test", ds.Labelled)
				assert.Equal(t, split, ds.Split)

				// Independent reading: texts, labels and line numbers agree.
				rows := rawRows(t, ds.Path)
				lay := spec.labelled
				if split == "test" {
					lay = spec.unlabelled
				}
				header := map[string]int{}
				if lay.header {
					for j, h := range rows[0] {
						header[strings.TrimSpace(h)] = j
					}
					rows = rows[1:]
				}
				col := func(c Column) int {
					if c.Index > 0 {
						return c.Index - 1
					}
					j, ok := header[c.Name]
					require.True(t, ok, "header lacks %q", c.Name)
					return j
				}
				require.Len(t, rows, want)
				for k, ex := range ds.Examples {
					r := rows[k]
					assert.Equal(t, r[col(lay.a)], ex.A)
					if spec.Pair {
						assert.Equal(t, r[col(lay.b)], ex.B)
						assert.NotEmpty(t, ex.B)
					}
					if ds.Labelled && !spec.Regression {
						assert.Equal(t, r[col(lay.label)], spec.Labels[ex.Label])
					}
					if split == "test" {
						assert.Equal(t, r[0], ex.ID, "test rows keep their GLUE index")
						assert.Equal(t, -1, ex.Label)
					}
					wantLine := k + 1
					if lay.header {
						wantLine++
					}
					assert.Equal(t, wantLine, ex.Line)
					if t.Failed() {
						t.Fatalf("row %d (line %d) differs", k, ex.Line)
					}
				}
			})
		}
	}
}

// TestGLUELayouts checks the layout details the data README describes.
func TestGLUELayouts(t *testing.T) {
	dir := glueDir(t)
	load := func(name, split string) *Dataset {
		t.Helper()
		spec, err := Lookup(name)
		require.NoError(t, err)
		ds, err := Load(spec, dir, split, Options{})
		require.NoError(t, err)
		return ds
	}

	t.Run("CoLA dev has no final newline; last row read", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "CoLA", "dev.tsv"))
		require.NoError(t, err)
		require.NotEqual(t, byte('\n'), raw[len(raw)-1])
		ds := load("cola", "dev")
		last := ds.Examples[len(ds.Examples)-1]
		lines := strings.Split(string(raw), "\n")
		f := strings.Split(lines[len(lines)-1], "\t")
		assert.Equal(t, f[3], last.A)
		assert.Equal(t, f[1], ds.Labels[last.Label])
		assert.Equal(t, 1043, last.Line)
	})

	t.Run("CoLA uses column 2 as label, not the original-label column", func(t *testing.T) {
		ds := load("CoLA", "train")
		counts := ds.ClassCounts()
		assert.Equal(t, len(ds.Examples), counts[0]+counts[1])
		assert.Greater(t, counts[1], counts[0], "CoLA is mostly acceptable sentences")
		assert.Equal(t, MCC, ds.Task.Main)
	})

	t.Run("SST-2 sentences keep their trailing space", func(t *testing.T) {
		ds := load("sst-2", "dev")
		for _, ex := range ds.Examples {
			require.True(t, strings.HasSuffix(ex.A, " "), "line %d: %q", ex.Line, ex.A)
		}
	})

	t.Run("MRPC BOM is not part of the first column", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "MRPC", "train.tsv"))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(raw), "\uFEFFQuality\t"))
		ds := load("mrpc", "train")
		assert.Equal(t, F1, ds.Task.Main)
		assert.Contains(t, ds.Task.Metrics, Accuracy)
		// Quotes are ordinary characters: some texts start with an unmatched one.
		quoted := 0
		for _, ex := range ds.Examples {
			if strings.HasPrefix(ex.B, `"`) && strings.Count(ex.B, `"`)%2 == 1 {
				quoted++
			}
		}
		assert.Positive(t, quoted)
	})

	t.Run("STS-B texts are 1-based columns 8 and 9, score the last", func(t *testing.T) {
		rows := rawRows(t, filepath.Join(dir, "STS-B", "dev.tsv"))
		require.Len(t, rows[0], 10)
		assert.Equal(t, "sentence1", rows[0][8-1])
		assert.Equal(t, "sentence2", rows[0][9-1])
		assert.Equal(t, "score", rows[0][9])
		ds := load("sts-b", "dev")
		require.True(t, ds.Task.Regression)
		assert.Equal(t, 1, ds.Task.NumLabels())
		lo, hi := float32(5), float32(0)
		for _, ex := range ds.Examples {
			lo, hi = min(lo, ex.Score), max(hi, ex.Score)
			assert.Equal(t, -1, ex.Label)
		}
		assert.Equal(t, float32(0), lo)
		assert.Equal(t, float32(5), hi)
		assert.Equal(t, rows[1][7], ds.Examples[0].A)
		assert.Equal(t, rows[1][0], ds.Examples[0].ID)
	})

	t.Run("RTE text labels", func(t *testing.T) {
		ds := load("rte", "dev")
		assert.Equal(t, []string{"entailment", "not_entailment"}, ds.Labels)
		c := ds.ClassCounts()
		assert.Positive(t, c[0])
		assert.Positive(t, c[1])
	})

	t.Run("unlabelled read of a dev file", func(t *testing.T) {
		for _, name := range []string{"cola", "sst2", "mrpc", "stsb", "rte", "wnli"} {
			spec, err := Lookup(name)
			require.NoError(t, err)
			want := load(name, "dev")
			ds, err := ReadFile(spec, want.Path, Options{Unlabelled: true})
			require.NoError(t, err, name)
			require.Len(t, ds.Examples, len(want.Examples), name)
			assert.False(t, ds.Labelled)
			for i := range ds.Examples {
				assert.Equal(t, want.Examples[i].A, ds.Examples[i].A)
				assert.Equal(t, want.Examples[i].B, ds.Examples[i].B)
				assert.Equal(t, -1, ds.Examples[i].Label)
			}
		}
	})

	t.Run("data dir may be the task folder or the folder above glue", func(t *testing.T) {
		spec, err := Lookup("wnli")
		require.NoError(t, err)
		for _, d := range []string{filepath.Join(dir, "WNLI"), filepath.Dir(dir)} {
			ds, err := Load(spec, d, "dev", Options{})
			require.NoError(t, err, d)
			assert.Len(t, ds.Examples, 71)
		}
	})
}
