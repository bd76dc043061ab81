package wordpiece

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tokSpecials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

func TestLoadVocabErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"empty file", "", "no tokens"},
		{"blank line", tokSpecials + "a\n\nb\n", "line 7: empty token"},
		{"trailing blank line", tokSpecials + "a\n\n", "line 7: empty token"},
		{"duplicate token", tokSpecials + "a\nb\na\n", `line 8: token "a" already on line 6`},
		{"duplicate special", tokSpecials + "[UNK]\n", `line 6: token "[UNK]" already on line 2`},
		{"invalid UTF-8", tokSpecials + "a\xff\n", "line 6: token \"a\\xff\" is not valid UTF-8"},
		{"missing [PAD]", "[UNK]\n[CLS]\n[SEP]\n[MASK]\n", "special token [PAD] missing"},
		{"missing [UNK]", "[PAD]\n[CLS]\n[SEP]\n[MASK]\n", "special token [UNK] missing"},
		{"missing [CLS]", "[PAD]\n[UNK]\n[SEP]\n[MASK]\n", "special token [CLS] missing"},
		{"missing [SEP]", "[PAD]\n[UNK]\n[CLS]\n[MASK]\n", "special token [SEP] missing"},
		{"missing [MASK]", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n", "special token [MASK] missing"},
		{"special in other case", "[pad]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", "special token [PAD] missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vocab.txt")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o644))
			v, err := LoadVocab(path)
			require.Error(t, err)
			assert.Nil(t, v)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), path, "the error names the file")
		})
	}
}

func TestLoadVocabMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.txt")
	_, err := LoadVocab(path)
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path)
}

func TestLoadVocabLayout(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"final newline", tokSpecials + "hello\n##lo\n"},
		{"no final newline", tokSpecials + "hello\n##lo"},
		{"CRLF", strings.ReplaceAll(tokSpecials+"hello\n##lo\n", "\n", "\r\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vocab.txt")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o644))
			v, err := LoadVocab(path)
			require.NoError(t, err)
			assert.Equal(t, 7, v.Size())
			for id, tok := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "##lo"} {
				got, ok := v.ID(tok)
				assert.True(t, ok, tok)
				assert.Equal(t, int32(id), got, tok)
				assert.Equal(t, tok, v.Token(int32(id)))
			}
			assert.Equal(t, []int32{0, 1, 2, 3, 4}, []int32{v.PadID(), v.UnkID(), v.CLSID(), v.SEPID(), v.MaskID()})
			_, ok := v.ID("lo")
			assert.False(t, ok, "continuation pieces are only known with their ##")
			assert.Panics(t, func() { v.Token(7) })
			assert.Panics(t, func() { v.Token(-1) })
		})
	}
}

func TestNewVocabErrors(t *testing.T) {
	_, err := NewVocab(nil)
	assert.ErrorContains(t, err, "no tokens")
	_, err = NewVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"})
	assert.ErrorContains(t, err, "special token [MASK] missing")
}

func TestLoadVocabBertBaseUncased(t *testing.T) {
	v, err := LoadVocab(filepath.Join(tokSharedDir(t), "data", "vocab", "bert-base-uncased-vocab.txt"))
	require.NoError(t, err)
	assert.Equal(t, 30522, v.Size())
	assert.Equal(t, []int32{0, 100, 101, 102, 103}, []int32{v.PadID(), v.UnkID(), v.CLSID(), v.SEPID(), v.MaskID()})
	for tok, id := range map[string]int32{"the": 1996, "##ing": 2075, "hello": 7592} {
		got, ok := v.ID(tok)
		assert.True(t, ok, tok)
		assert.Equal(t, id, got, tok)
		assert.Equal(t, tok, v.Token(id))
	}
}
