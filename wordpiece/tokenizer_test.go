package wordpiece

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokSharedDir returns the shared data folder (see sharedtest), skipping
// the test when it is absent.
func tokSharedDir(t testing.TB) string {
	t.Helper()
	return sharedtest.Path(t)
}

// tokUncased loads the bert-base-uncased vocabulary from the shared folder.
func tokUncased(t testing.TB) *Tokenizer {
	t.Helper()
	path := filepath.Join(tokSharedDir(t), "data", "vocab", "bert-base-uncased-vocab.txt")
	v, err := LoadVocab(path)
	require.NoError(t, err)
	return NewTokenizer(v, true)
}

// tokTiny is a small vocabulary for edge cases whose answer follows from the
// rules alone.
func tokTiny(t testing.TB, lowercase bool) *Tokenizer {
	t.Helper()
	v, err := NewVocab([]string{
		"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
		"un", "##aff", "##able", "runn", "##ing", "run", "a", "##b", "b", "##c",
		",", ".", "!", "'", "s", "hello", "world", "cafe", "café", "中", "文",
		"i", "##i", "ı", "σ", "ς", "ο", "##ο", "##σ", "##ς", "##δ", "Hello", "`",
		"##a", "e", "##e",
	})
	require.NoError(t, err)
	return NewTokenizer(v, lowercase)
}

func TestTokenizeTiny(t *testing.T) {
	long := strings.Repeat("a", MaxWordRunes)
	longAccented := strings.Repeat("é", MaxWordRunes) // 200 bytes, 100 runes
	tests := []struct {
		name  string
		lower bool
		text  string
		want  []string
	}{
		{"empty", true, "", []string{}},
		{"only spaces", true, " \t\r\n\u00a0\u3000", []string{}},
		{"greedy longest match", true, "unaffable", []string{"un", "##aff", "##able"}},
		{"longest first wins over shorter", true, "running", []string{"runn", "##ing"}},
		{"no segmentation is one unk", true, "unaffablex", []string{"[UNK]"}},
		{"unk word keeps neighbours", true, "run xyz run", []string{"run", "[UNK]", "run"}},
		{"punctuation split", true, "hello,world!", []string{"hello", ",", "world", "!"}},
		{"apostrophe", true, "hello's", []string{"hello", "'", "s"}},
		{"lower-casing", true, "HeLLo WORLD", []string{"hello", "world"}},
		{"cased keeps case", false, "Hello hello", []string{"Hello", "hello"}},
		{"accent stripped when uncased", true, "Café", []string{"cafe"}},
		{"accent kept when cased", false, "café", []string{"café"}},
		{"combining mark stripped", true, "cafe\u0301", []string{"cafe"}},
		{"control characters removed, not separating", true, "hel\x00lo wor\u200bld\ufffd", []string{"hello", "world"}},
		{"DEL removed", true, "hel\x7flo", []string{"hello"}},
		{"invalid UTF-8 removed", true, "hel\xfflo", []string{"hello"}},
		{"private use removed", true, "hel\ue000lo", []string{"hello"}},
		{"unicode spaces separate", true, "hello\u00a0world\u2028hello\u3000world", []string{"hello", "world", "hello", "world"}},
		{"CJK split", true, "a中文b", []string{"a", "中", "文", "b"}},
		{"compatibility ideograph split", true, "a\uf900b", []string{"a", "[UNK]", "b"}},
		{"dotted capital I", true, "İ", []string{"i"}},
		{"dotless i", true, "ıi", []string{"ı", "##i"}},
		{"final sigma", true, "ΟΣ", []string{"ο", "##ς"}},
		{"sigma before letter", true, "ΣΟ", []string{"σ", "##ο"}},
		{"lone sigma", true, "Σ", []string{"σ"}},
		{"final sigma before punctuation", true, "ΟΣ.", []string{"ο", "##ς", "."}},
		{"sigma context skips case-ignorable", true, "ΟΣ'Σ", []string{"ο", "##σ", "'", "ς"}},
		{"decomposition gives punctuation", true, "a\u1fefb", []string{"a", "`", "b"}},
		{"100 runes is a word", true, long, tokRepeatPiece("a", "##a", MaxWordRunes)},
		{"101 runes is unk", true, long + "a", []string{"[UNK]"}},
		{"100 accented runes, 200 bytes, is a word", true, longAccented, tokRepeatPiece("e", "##e", MaxWordRunes)},
		{"101 accented runes is unk (counted after stripping)", true, longAccented + "é", []string{"[UNK]"}},
		{"special token spelling is text", true, "[CLS]", []string{"[UNK]", "[UNK]", "[UNK]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := tokTiny(t, tc.lower)
			got := tok.Tokenize(tc.text)
			assert.Equal(t, tc.want, got)
			ids := tok.AppendIDs(nil, tc.text)
			require.Len(t, ids, len(got))
			for i, id := range ids {
				assert.Equal(t, got[i], tok.Vocab().Token(id))
			}
		})
	}
}

// tokRepeatPiece returns first followed by n-1 copies of cont.
func tokRepeatPiece(first, cont string, n int) []string {
	out := []string{first}
	for range n - 1 {
		out = append(out, cont)
	}
	return out
}

func TestWordPieceLimitWithRealVocab(t *testing.T) {
	tok := tokUncased(t)
	w100 := strings.Repeat("ab", MaxWordRunes/2)
	got := tok.Tokenize(w100)
	assert.Greater(t, len(got), 1, "a 100-character word is segmented")
	assert.NotContains(t, got, "[UNK]")
	assert.Equal(t, []string{"[UNK]"}, tok.Tokenize(w100+"a"))
	// Accents are stripped before the limit is applied: 101 runes of "é"
	// decompose to 202 and strip back to 101.
	assert.Equal(t, []string{"[UNK]"}, tok.Tokenize(strings.Repeat("é", MaxWordRunes+1)))
}

func TestEncodeTruncation(t *testing.T) {
	tok := tokTiny(t, true)
	// Every word is one token, so the segment lengths are the word counts.
	words := func(n int) string { return strings.TrimSpace(strings.Repeat("run ", n)) }
	tests := []struct {
		name           string
		a, b           int // words in each segment
		pair           bool
		maxLen         int
		wantLA, wantLB int
	}{
		{"single fits", 3, 0, false, 5, 3, 0},
		{"single truncated", 10, 0, false, 5, 3, 0},
		{"single no limit", 10, 0, false, 0, 10, 0},
		{"single only specials", 4, 0, false, 2, 0, 0},
		{"pair fits", 2, 3, true, 8, 2, 3},
		{"pair a longer", 10, 2, true, 9, 4, 2},
		{"pair b longer", 2, 10, true, 9, 2, 4},
		{"pair tie drops b first", 5, 5, true, 10, 4, 3},
		{"pair even room", 5, 5, true, 11, 4, 4},
		{"pair empty b", 4, 0, true, 0, 4, 0},
		{"pair empty b truncated", 4, 0, true, 5, 2, 0},
		{"pair only specials", 4, 4, true, 3, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoding
			if tc.pair {
				e = tok.EncodePair(words(tc.a), words(tc.b), tc.maxLen)
			} else {
				e = tok.Encode(words(tc.a), tc.maxLen)
			}
			v := tok.Vocab()
			want := []string{"[CLS]"}
			wantTypes := []int32{0}
			for range tc.wantLA {
				want, wantTypes = append(want, "run"), append(wantTypes, 0)
			}
			want, wantTypes = append(want, "[SEP]"), append(wantTypes, 0)
			if tc.pair {
				for range tc.wantLB {
					want, wantTypes = append(want, "run"), append(wantTypes, 1)
				}
				want, wantTypes = append(want, "[SEP]"), append(wantTypes, 1)
			}
			assert.Equal(t, want, e.Tokens)
			assert.Equal(t, wantTypes, e.TypeIDs)
			require.Len(t, e.IDs, len(want))
			for i, id := range e.IDs {
				assert.Equal(t, want[i], v.Token(id))
			}
			assert.Equal(t, len(want), e.Len())
		})
	}
}

func TestEncodeSegmentsKeepTheirEnds(t *testing.T) {
	tok := tokTiny(t, true)
	// Truncation drops from the end of each segment.
	e := tok.EncodePair("hello world run", "a b run", 6)
	// a=3, b=3, room 3: drop from b (tie), then a, then b again.
	assert.Equal(t, []string{"[CLS]", "hello", "world", "[SEP]", "a", "[SEP]"}, e.Tokens)
}

func TestEncodeMaxLenTooSmallPanics(t *testing.T) {
	tok := tokTiny(t, true)
	assert.Panics(t, func() { tok.Encode("run", 1) })
	assert.Panics(t, func() { tok.EncodePair("run", "run", 2) })
	assert.NotPanics(t, func() { tok.EncodePair("run", "run", 3) })
}

func TestEncodeToReusesStorage(t *testing.T) {
	tok := tokTiny(t, true)
	var e Encoding
	tok.EncodeTo(&e, "hello world run run run", "a b", true, 0)
	first := &e.IDs[0]
	allocs := testing.AllocsPerRun(100, func() {
		tok.EncodeTo(&e, "hello, world", "run b", true, 16)
	})
	if !tokRace {
		assert.Zero(t, allocs, "EncodeTo into a large enough Encoding allocates nothing")
	}
	assert.Same(t, first, &e.IDs[0])
	assert.Equal(t, []string{"[CLS]", "hello", ",", "world", "[SEP]", "run", "b", "[SEP]"}, e.Tokens)
	assert.Equal(t, []int32{0, 0, 0, 0, 0, 1, 1, 1}, e.TypeIDs)
}

func TestAppendIDsNoAllocs(t *testing.T) {
	tok := tokUncased(t)
	text := "The quick brown fox, naïve and Ωmega-like, jumps over 13 lazy dogs' 中文 tails!"
	dst := tok.AppendIDs(nil, text)
	allocs := testing.AllocsPerRun(100, func() { dst = tok.AppendIDs(dst[:0], text) })
	if tokRace {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	assert.Zero(t, allocs)
}

func TestTokenizerConcurrent(t *testing.T) {
	tok := tokUncased(t)
	texts := []string{"Héllo, wörld! Ça va?", "the quick brown fox jumps", "中文字符 ΟΔΟΣ", "don't stop"}
	want := make([][]string, len(texts))
	for i, s := range texts {
		want[i] = tok.Tokenize(s)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for k := range 200 {
				i := (g + k) % len(texts)
				if got := tok.Tokenize(texts[i]); fmt.Sprint(got) != fmt.Sprint(want[i]) {
					err = fmt.Errorf("goroutine %d: %q gave %q, want %q", g, texts[i], got, want[i])
				}
			}
			done <- err
		}()
	}
	for range 4 {
		assert.NoError(t, <-done)
	}
}

// goldenLine is one line of wordpiece-uncased.jsonl.
type goldenLine struct {
	Source       string  `json:"source"`
	TextA        string  `json:"text_a"`
	TextB        *string `json:"text_b"`
	Tokens       []string
	InputIDs     []int32 `json:"input_ids"`
	TokenTypeIDs []int32 `json:"token_type_ids"`
}

// TestGoldenWordPieceUncased checks every line of the reference tokenizer's
// output on the GLUE dev sets and the edge cases.
func TestGoldenWordPieceUncased(t *testing.T) {
	tok := tokUncased(t)
	path := filepath.Join(tokSharedDir(t), "golden", "wordpiece-uncased.jsonl")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	const maxLen = 128
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var e Encoding
	lines, bad := 0, 0
	for sc.Scan() {
		lines++
		var g goldenLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &g), "%s:%d", path, lines)
		b := ""
		if g.TextB != nil {
			b = *g.TextB
		}
		tok.EncodeTo(&e, g.TextA, b, g.TextB != nil, maxLen)
		what := ""
		switch {
		case !slices.Equal(e.Tokens, g.Tokens):
			what = fmt.Sprintf("tokens\n  got  %q\n  want %q", e.Tokens, g.Tokens)
		case !slices.Equal(e.IDs, g.InputIDs):
			what = fmt.Sprintf("input_ids\n  got  %v\n  want %v", e.IDs, g.InputIDs)
		case !slices.Equal(e.TypeIDs, g.TokenTypeIDs):
			what = fmt.Sprintf("token_type_ids\n  got  %v\n  want %v", e.TypeIDs, g.TokenTypeIDs)
		}
		if what != "" {
			bad++
			if bad <= 5 {
				t.Errorf("line %d (%s): text_a %q text_b %q: %s", lines, g.Source, g.TextA, b, what)
			}
		}
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 4205, lines, "golden file line count (see its README)")
	assert.Zero(t, bad, "%d of %d golden lines differ", bad, lines)
	t.Logf("%d/%d golden lines match", lines-bad, lines)
}
