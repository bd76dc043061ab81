package petl_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl"
	"github.com/stretchr/testify/require"
)

// TestWithMaxLenTooShort checks that a max length that cannot hold a
// text between its special tokens is an error, not a panic on the first
// pair (2 let a pair task's encoding panic and a single text predict from
// [CLS] [SEP] alone).
func TestWithMaxLenTooShort(t *testing.T) {
	b, err := petl.Open(filepath.Join("models", "petl-bert-tiny"), petl.Options{Pack: "off"})
	require.NoError(t, err)
	defer b.Close()
	mrpc, err := b.Load("mrpc", "models/adapters/mrpc")
	require.NoError(t, err)
	for _, n := range []int{-1, 0, 1, 2, 513} {
		_, err := mrpc.WithMaxLen(n)
		require.ErrorContains(t, err, "want 3 to 512", n)
	}
	short, err := mrpc.WithMaxLen(3)
	require.NoError(t, err)
	preds, err := short.Predict(context.Background(), petl.Pair("a cat sat", "on the mat"))
	require.NoError(t, err)
	require.Equal(t, 3, preds[0].Tokens)
	require.True(t, preds[0].Truncated)
}
