package train

import (
	"testing"
	"time"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/require"
)

// TestCountUnknownCoLA counts the [UNK] wordpieces of CoLA dev with the real
// bert-base-uncased vocabulary: lower-cased, almost none; as written, every
// capitalised word (each sentence starts with one) is [UNK], about 16%,
// and the warning names the casing.
func TestCountUnknownCoLA(t *testing.T) {
	vocab := sharedtest.Path(t, "data", "vocab", "bert-base-uncased-vocab.txt")
	glue := sharedtest.Path(t, "data", "glue")
	v, err := wordpiece.LoadVocab(vocab)
	require.NoError(t, err)
	spec, err := task.Lookup("cola")
	require.NoError(t, err)
	ds, err := task.Load(spec, glue, "dev", task.Options{})
	require.NoError(t, err)

	start := time.Now()
	lower := CountUnknown(wordpiece.NewTokenizer(v, true), ds)
	t.Logf("lower-cased: %v (%v)", lower, time.Since(start))
	require.Greater(t, lower.Wordpieces, 5000)
	require.Less(t, lower.Share(), 0.001)
	require.Empty(t, lower.Warning("CoLA dev", true))

	cased := CountUnknown(wordpiece.NewTokenizer(v, false), ds)
	t.Logf("as written: %v", cased)
	require.InDelta(t, 0.16, cased.Share(), 0.03)
	w := cased.Warning("CoLA dev", false)
	require.Contains(t, w, "CoLA dev: ")
	require.Contains(t, w, "% of wordpieces are [UNK]: is the casing right? the tokenizer lower-cases: false")
}

func TestCountUnknownSmall(t *testing.T) {
	tok := testTokenizer(t)
	spec, err := task.Lookup("rte")
	require.NoError(t, err)
	ds := &task.Dataset{Task: spec, Examples: []task.Example{
		{A: "the movie was zzz", B: "a good plot"}, // zzz: one [UNK] among 7 wordpieces
		{A: "Nice film"}, // lower-cased: two known ones
	}}
	c := CountUnknown(tok, ds)
	require.Equal(t, UnknownCount{Wordpieces: 9, Unknown: 1}, c)
	require.Equal(t, "11.1% of 9 wordpieces are [UNK] (1)", c.String())
	require.Equal(t, "0.05% of 2,000 wordpieces are [UNK] (1)", UnknownCount{Wordpieces: 2000, Unknown: 1}.String())
	require.Contains(t, c.Warning("x", true), "x: 11.1% of wordpieces are [UNK]")
	require.Equal(t, UnknownCount{}, CountUnknown(tok, nil))
	require.Equal(t, 0.0, UnknownCount{}.Share())
	require.Equal(t, "1,234,567", thousands(1234567))
	require.Equal(t, "999", thousands(999))
}
