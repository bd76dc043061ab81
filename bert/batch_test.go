package bert

import (
	"testing"

	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchTokenizer is a lower-casing tokenizer over a vocabulary of the few
// words these tests use.
func batchTokenizer(t *testing.T) *wordpiece.Tokenizer {
	t.Helper()
	v, err := wordpiece.NewVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "run", "a", "b"})
	require.NoError(t, err)
	return wordpiece.NewTokenizer(v, true)
}

func TestBatchPadding(t *testing.T) {
	tok := batchTokenizer(t)
	const pad = int32(0)
	encs := []wordpiece.Encoding{
		tok.Encode("hello world", 0),         // 4 tokens
		tok.EncodePair("run", "a b run", 0),  // 7 tokens
		tok.Encode("", 0),                    // 2 tokens
		tok.EncodePair("hello", "world", 16), // 5 tokens
	}
	tests := []struct {
		name  string
		padTo int
		wantT int
	}{
		{"longest", 0, 7},
		{"padTo smaller than longest", 5, 7},
		{"padTo larger", 10, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatch(encs, tc.padTo, pad)
			require.Equal(t, len(encs), b.B)
			require.Equal(t, tc.wantT, b.T)
			require.Len(t, b.IDs, b.B*b.T)
			require.Len(t, b.TypeIDs, b.B*b.T)
			require.Len(t, b.Mask, b.B*b.T)
			require.Len(t, b.Lens, b.B)
			total := 0
			for i, e := range encs {
				n := len(e.IDs)
				assert.Equal(t, n, b.Lens[i])
				total += n
				row := func(s []int32) []int32 { return s[i*b.T : (i+1)*b.T] }
				assert.Equal(t, e.IDs, row(b.IDs)[:n], "sequence %d ids", i)
				assert.Equal(t, e.TypeIDs, row(b.TypeIDs)[:n], "sequence %d type ids", i)
				for j := range b.T {
					isReal := j < n
					wantMask := float32(0)
					if isReal {
						wantMask = 1
					}
					assert.Equal(t, wantMask, b.Mask[i*b.T+j], "mask[%d,%d]", i, j)
					if !isReal {
						assert.Equal(t, pad, b.IDs[i*b.T+j], "ids[%d,%d] is padding", i, j)
						assert.Equal(t, int32(0), b.TypeIDs[i*b.T+j], "types[%d,%d] is padding", i, j)
					}
				}
			}
			assert.Equal(t, total, b.Tokens())
		})
	}
}

func TestBatchFillReuses(t *testing.T) {
	tok := batchTokenizer(t)
	big := []wordpiece.Encoding{tok.EncodePair("hello world run", "a b", 0), tok.Encode("run run run run run", 0)}
	small := []wordpiece.Encoding{tok.Encode("run", 0)}
	b := NewBatch(big, 0, 7) // a non-zero pad id shows which positions are padding
	first := &b.IDs[0]
	b.Fill(small, 4, 7)
	assert.Same(t, first, &b.IDs[0], "storage reused")
	assert.Equal(t, 1, b.B)
	assert.Equal(t, 4, b.T)
	assert.Equal(t, []int32{tok.Vocab().CLSID(), encsID(t, tok, "run"), tok.Vocab().SEPID(), 7}, b.IDs)
	assert.Equal(t, []int32{0, 0, 0, 0}, b.TypeIDs, "type ids of the larger batch's pairs are overwritten")
	assert.Equal(t, []float32{1, 1, 1, 0}, b.Mask)
	assert.Equal(t, []int{3}, b.Lens)
	if !raceEnabled {
		allocs := testing.AllocsPerRun(50, func() { b.Fill(big, 0, 7) })
		assert.Zero(t, allocs)
	}
}

func TestBatchEmptyAndBad(t *testing.T) {
	b := NewBatch(nil, 8, 0)
	assert.Equal(t, 0, b.B)
	assert.Empty(t, b.IDs)
	assert.Panics(t, func() {
		NewBatch([]wordpiece.Encoding{{IDs: []int32{1, 2}, TypeIDs: []int32{0}}}, 0, 0)
	})
}

// encsID returns the id of a token of the tiny vocabulary.
func encsID(t *testing.T, tok *wordpiece.Tokenizer, s string) int32 {
	t.Helper()
	id, ok := tok.Vocab().ID(s)
	require.True(t, ok, s)
	return id
}
