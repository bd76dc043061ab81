package wordpiece

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realUncasedVocab loads bert-base-uncased's vocabulary from the shared
// folder.
func realUncasedVocab(t *testing.T) *Vocab {
	t.Helper()
	v, err := LoadVocab(sharedtest.Path(t, "data", "vocab", "bert-base-uncased-vocab.txt"))
	require.NoError(t, err)
	return v
}

// casedFrom makes a cased vocabulary in the manner of bert-base-cased from
// an uncased one: every word piece that starts with an ASCII letter also
// appears capitalised ("the" and "The", "paris" and "Paris").
func casedFrom(t *testing.T, v *Vocab) *Vocab {
	t.Helper()
	var toks []string
	for id := 0; id < v.Size(); id++ {
		tok := v.Token(int32(id))
		toks = append(toks, tok)
		if tok[0] >= 'a' && tok[0] <= 'z' {
			if up := strings.ToUpper(tok[:1]) + tok[1:]; up != tok {
				toks = append(toks, up)
			}
		}
	}
	c, err := NewVocab(toks)
	require.NoError(t, err)
	return c
}

func TestVocabCasingRealVocabularies(t *testing.T) {
	uncased := realUncasedVocab(t)
	cased := casedFrom(t, uncased)
	tests := []struct {
		name      string
		v         *Vocab
		wantLower bool
	}{
		// bert-base-uncased holds ℝ and ##ℝ, upper-case letters without a
		// lower-case form: they must not make it look cased.
		{"bert-base-uncased", uncased, true},
		{"cased (The, Paris, ...)", cased, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := VocabCasing(tc.v)
			assert.Equal(t, tc.wantLower, c.Lowercase, "casing decided: %v", c)
		})
	}
	_, hasR := uncased.ID("ℝ")
	assert.True(t, hasR, "the real vocabulary holds ℝ, the token that fooled the old rule")
}

func TestUncasedVocabTokenizesCapitalisedText(t *testing.T) {
	v := realUncasedVocab(t)
	tok := NewTokenizer(v, VocabCasing(v).Lowercase)
	ids := tok.AppendIDs(nil, "The Film Is Wonderful")
	require.Len(t, ids, 4)
	for i, id := range ids {
		assert.NotEqual(t, v.UnkID(), id, "word %d became [UNK]", i)
	}
}

func TestCheckpointCasing(t *testing.T) {
	uncased := realUncasedVocab(t)
	cased := casedFrom(t, uncased)
	tests := []struct {
		name       string
		config     string // tokenizer_config.json; "" for none
		v          *Vocab
		wantLower  bool
		wantSource string
		wantErr    string
	}{
		{"no file, uncased vocabulary", "", uncased, true, "vocabulary", ""},
		{"no file, cased vocabulary", "", cased, false, "vocabulary", ""},
		{"file says lower, cased vocabulary", `{"do_lower_case": true}`, cased, true, "do_lower_case", ""},
		{"file says cased, uncased vocabulary", `{"do_lower_case": false}`, uncased, false, "do_lower_case", ""},
		{"file without the key", `{"model_max_length": 512}`, uncased, true, "vocabulary", ""},
		{"null", `{"do_lower_case": null}`, cased, false, "vocabulary", ""},
		{"not a boolean", `{"do_lower_case": "yes"}`, uncased, false, "", `do_lower_case is "yes", want true or false`},
		{"not JSON", `{do_lower_case`, uncased, false, "", TokenizerConfigFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.config != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, TokenizerConfigFile), []byte(tc.config), 0o644))
			}
			c, err := CheckpointCasing(dir, tc.v)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantLower, c.Lowercase)
			assert.Contains(t, c.Source, tc.wantSource)
		})
	}
}

func TestWriteDoLowerCaseRoundTrip(t *testing.T) {
	for _, lower := range []bool{true, false} {
		dir := t.TempDir()
		require.NoError(t, WriteDoLowerCase(dir, lower))
		got, ok, err := ReadDoLowerCase(dir)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, lower, got)
	}
}

func TestReadDoLowerCaseNotRegular(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, TokenizerConfigFile), 0o755))
	_, _, err := ReadDoLowerCase(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")
}
