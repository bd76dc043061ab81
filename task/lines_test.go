package task

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/safefile"
	"github.com/stretchr/testify/require"
)

// TestReadLines: plain lines, one text or a pair per line; malformed lines
// are errors naming the file and line, or skipped and counted.
func TestReadLines(t *testing.T) {
	sst, rte := mustLookup(t, "sst2"), mustLookup(t, "rte")

	ds, err := ReadLines(sst, strings.NewReader("\uFEFFa fine film\r\n\nnot good\n"), "stdin", Options{})
	require.NoError(t, err)
	require.Equal(t, []Example{{ID: "0", A: "a fine film", Label: -1, Line: 1}, {ID: "1", A: "not good", Label: -1, Line: 3}}, ds.Examples)
	require.False(t, ds.Labelled)

	ds, err = ReadLines(rte, strings.NewReader("a\tb\nno tab\nc\td"), "in.txt", Options{SkipBad: true})
	require.NoError(t, err)
	require.Equal(t, []Example{{ID: "0", A: "a", B: "b", Label: -1, Line: 1}, {ID: "1", A: "c", B: "d", Label: -1, Line: 3}}, ds.Examples)
	require.Equal(t, 1, ds.Skipped)
	require.ErrorIs(t, ds.Problems[0], ErrColumnCount)
	require.EqualError(t, ds.Problems[0], "in.txt:2: wrong number of fields: 1 tab-separated fields; task RTE takes two texts per line (a<TAB>b)")

	tests := []struct {
		name  string
		spec  *Spec
		in    string
		isErr error
		msg   string
	}{
		{"pair to a single-text task", sst, "ok\nbad\trow\n", ErrColumnCount, "task SST-2: stdin:2: wrong number of fields: 2 tab-separated fields; task SST-2 takes one text per line"},
		{"invalid UTF-8", sst, "fine\nbad \xff utf8\n", ErrBadText, "task SST-2: stdin:2: bad text: invalid UTF-8"},
		{"empty first text", rte, "a\tb\n \tb\n", ErrBadText, "task RTE: stdin:2: bad text: empty text in column 1"},
		{"blank", sst, "\n \n", ErrEmpty, "stdin: empty file: no input lines"},
		{"every line malformed", sst, "a\tb\n", nil, "task SST-2: stdin: no valid rows (1 malformed rows skipped; first: stdin:1:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadLines(tc.spec, strings.NewReader(tc.in), "stdin", Options{SkipBad: tc.name == "every line malformed"})
			require.Error(t, err)
			if tc.isErr != nil {
				require.ErrorIs(t, err, tc.isErr)
			}
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// TestLongLine: a line of more than MaxLine bytes is an error naming the
// file and line, in plain lines and in a TSV file alike.
func TestLongLine(t *testing.T) {
	sst := mustLookup(t, "sst2")
	long := "ok\n" + strings.Repeat("x", MaxLine+1) + "\n"
	_, err := ReadLines(sst, strings.NewReader(long), "stdin", Options{SkipBad: true})
	require.ErrorIs(t, err, bufio.ErrTooLong)
	require.ErrorContains(t, err, "stdin:2: a line of 16777217 bytes, more than 16777216")
	_, err = Read(sst, strings.NewReader("sentence\tlabel\n"+long), "dev.tsv", Options{})
	require.ErrorIs(t, err, bufio.ErrTooLong)
	require.ErrorContains(t, err, "dev.tsv:3:")
	_, err = ReadLines(sst, strings.NewReader(strings.Repeat("x", MaxLine)+"\r\n"), "stdin", Options{})
	require.NoError(t, err, "MaxLine bytes and a \\r\\n fit")
}

// TestReadLinesFile: a regular file is read as ReadLines reads a stream;
// anything else is refused at once, saying to use standard input.
func TestReadLinesFile(t *testing.T) {
	sst := mustLookup(t, "sst2")
	path := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(path, []byte("a fine film\nbad\tpair\n"), 0o644))
	_, err := ReadLinesFile(sst, path, Options{})
	require.ErrorContains(t, err, path+":2: wrong number of fields")
	_, err = ReadLinesFile(sst, t.TempDir(), Options{})
	require.ErrorIs(t, err, safefile.ErrNotRegular)
	require.ErrorContains(t, err, "give it on standard input")
}
