package wordpiece

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets of the readers of outside input in this package:
// vocab.txt, tokenizer_config.json and the tokenizer on any text. None may
// panic; what they accept must be usable. Their seeds are the files of the
// shipped model plus testdata/fuzz/<name>/; plain go test runs them all.

// shippedFile reads a file of the shipped BERT-tiny (nil when absent).
func shippedFile(name string) []byte {
	data, _ := os.ReadFile(filepath.Join("..", "models", "petl-bert-tiny", name))
	return data
}

// FuzzParseVocab reads arbitrary bytes as vocab.txt: an error, or a
// vocabulary whose ids and tokens agree and that tokenizes.
func FuzzParseVocab(f *testing.F) {
	f.Add(shippedFile("vocab.txt")[:2000])
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n"))
	f.Add([]byte("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\n##\r\n#\r\n"))
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[PAD]\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n\xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseVocab(data)
		if err != nil {
			return
		}
		if v.Size() < 5 {
			t.Fatalf("a vocabulary of %d tokens without all specials", v.Size())
		}
		for i := 0; i < v.Size(); i++ {
			tok := v.Token(int32(i))
			if id, ok := v.ID(tok); !ok || id != int32(i) {
				t.Fatalf("token %d %q has id %d", i, tok, id)
			}
		}
		_ = v.Fingerprint()
		for _, lower := range []bool{false, true} {
			checkEncoding(t, NewTokenizer(v, lower), "The [UNK] ##s éa 中文 "+string(data), "b", true, 9)
		}
	})
}

// FuzzDoLowerCase reads arbitrary bytes as tokenizer_config.json.
func FuzzDoLowerCase(f *testing.F) {
	f.Add(shippedFile(TokenizerConfigFile))
	f.Add([]byte(`{"do_lower_case": false}`))
	f.Add([]byte(`{"do_lower_case": "yes"}`))
	f.Add([]byte(`{"do_lower_case": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lower, ok, err := parseDoLowerCase("tokenizer_config.json", data)
		if err != nil && (ok || lower) {
			t.Fatal("a value with an error")
		}
	})
}

// fuzzVocab is the shipped model's vocabulary (bert-base-uncased's).
var fuzzVocab = func() *Vocab {
	v, err := parseVocab(shippedFile("vocab.txt"))
	if err != nil {
		return nil
	}
	return v
}()

// FuzzTokenizer encodes arbitrary text, alone and as a pair, with the
// shipped vocabulary, lower-cased and not: it must never panic, every id
// must be in the vocabulary with its token, the encoding must fit maxLen
// and be framed by [CLS] and [SEP].
func FuzzTokenizer(f *testing.F) {
	if fuzzVocab == nil {
		f.Skip("no shipped vocabulary")
	}
	for _, s := range []string{
		"a gripping, funny and moving film", "Hello, WORLD! It's 3.14 o'clock", "naïve café — Ünïcödé façade",
		"中文字符和日本語のテキスト", "emoji 😀👍🏽 and \u200b zero width", "\x00\x01\x7f control", "ΣΊΣΥΦΟΣ σίσυφος ς",
		strings.Repeat("x", 300), strings.Repeat("supercalifragilistic", 20), "İstanbul ǅ ﬁ ß", "\xff\xfe invalid", "",
		"a\tb\nc\r\nd", "##s [CLS] [SEP] [MASK] [UNK]", "\u0301\u0301 combining", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
	} {
		f.Add(s, "and the second text", 12)
	}
	f.Add("", "", 3)
	f.Add("x", "", 0)
	f.Fuzz(func(t *testing.T, a, b string, maxLen int) {
		if maxLen < 0 || maxLen > 1<<12 {
			maxLen = 0
		}
		for _, lower := range []bool{false, true} {
			tok := NewTokenizer(fuzzVocab, lower)
			for _, pair := range []bool{false, true} {
				if maxLen > 0 && maxLen < 3 {
					maxLen = 3
				}
				checkEncoding(t, tok, a, b, pair, maxLen)
			}
			ids := tok.AppendIDs(nil, a)
			for _, id := range ids {
				if id < 0 || int(id) >= fuzzVocab.Size() {
					t.Fatalf("id %d outside the vocabulary", id)
				}
			}
			if len(tok.Tokenize(a)) != len(ids) {
				t.Fatalf("Tokenize and AppendIDs disagree on %q", a)
			}
		}
	})
}

// checkEncoding encodes a (and b) and checks the result.
func checkEncoding(t *testing.T, tok *Tokenizer, a, b string, pair bool, maxLen int) {
	t.Helper()
	var e Encoding
	tok.EncodeTo(&e, a, b, pair, maxLen)
	v := tok.Vocab()
	n := e.Len()
	if len(e.TypeIDs) != n || len(e.Tokens) != n {
		t.Fatalf("lengths %d %d %d", n, len(e.TypeIDs), len(e.Tokens))
	}
	if maxLen > 0 && n > maxLen {
		t.Fatalf("%d tokens for maxLen %d", n, maxLen)
	}
	if n < 2 || e.IDs[0] != v.CLSID() || e.IDs[n-1] != v.SEPID() {
		t.Fatalf("encoding %v not framed by [CLS] ... [SEP]", e.Tokens)
	}
	for i, id := range e.IDs {
		if id < 0 || int(id) >= v.Size() {
			t.Fatalf("id %d outside the vocabulary of %d", id, v.Size())
		}
		if v.Token(id) != e.Tokens[i] {
			t.Fatalf("token %d: id %d is %q, encoding says %q", i, id, v.Token(id), e.Tokens[i])
		}
		if e.TypeIDs[i] != 0 && e.TypeIDs[i] != 1 || !pair && e.TypeIDs[i] != 0 {
			t.Fatalf("type id %d at %d", e.TypeIDs[i], i)
		}
		if !utf8.ValidString(e.Tokens[i]) {
			t.Fatalf("token %q is not UTF-8", e.Tokens[i])
		}
	}
}
