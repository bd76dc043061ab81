package wordpiece

import (
	"fmt"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxWordRunes is the longest word, in characters after basic tokenization,
// that WordPiece segments; a longer word becomes [UNK] (the Hugging Face BERT
// tokenizers' max_input_chars_per_word).
const MaxWordRunes = 100

// Tokenizer turns text into BERT WordPiece tokens with the semantics of
// Hugging Face's BertTokenizer (the Python tokenizer, which follows the
// original BERT release's tokenization.py):
//
//  1. Cleaning: NUL, U+FFFD, invalid UTF-8 and every character of a Unicode
//     "C" category (control, format, private use, unassigned) except \t, \n,
//     \r are dropped.
//  2. Whitespace (space, \t, \n, \r, category Zs, and U+2028/U+2029, which
//     Python's str.split() also splits on) separates words. Each CJK
//     ideograph becomes a word of its own.
//  3. With lowercase set (uncased vocabularies): each word is lower-cased as
//     Python's str.lower() does (so İ becomes "i̇" and a word-final Σ becomes
//     ς), decomposed (NFD) and stripped of nonspacing marks (category Mn).
//  4. Punctuation (the ASCII symbols !"#$%&'()*+,-./ :;<=>?@ [\]^_` {|}~ and
//     every Unicode P* character) is split off as one-character words.
//  5. WordPiece: each word is split greedily, longest match first, into
//     vocabulary pieces, the non-initial ones spelled "##piece". A word longer
//     than MaxWordRunes characters, or one with no complete segmentation,
//     becomes [UNK].
//
// Differences from those references, none of which shows on GLUE text:
// special-token spellings inside the text ("[CLS]") are tokenized like any
// other text, as the original release does (Hugging Face keeps them whole);
// cleaning drops all of category C as Hugging Face does (the original
// dropped only Cc and Cf); character properties come from Go's Unicode
// tables, so code points assigned in a newer Unicode version than Python's
// are kept where Python drops them as unassigned; and the text is not
// NFC-normalised first (recent Hugging Face versions do, which changes
// nothing when lowercase is set since NFD follows).
//
// A Tokenizer is safe for concurrent use.
type Tokenizer struct {
	vocab     *Vocab
	lowercase bool
	// asciiPiece[c] is the id of the one-character word c (its vocabulary
	// entry or [UNK]); used for ASCII punctuation.
	asciiPiece [utf8.RuneSelf]int32
	scratch    sync.Pool // *tokScratch
}

// tokScratch holds the buffers of one tokenization call.
type tokScratch struct {
	word  []byte // the word being assembled
	runes []rune // a cleaned non-ASCII chunk
	lower []byte // its lower-cased UTF-8
	nfd   []byte // its NFD form
	iter  norm.Iter
	ids   []int32 // pieces of the second segment of a pair
}

// NewTokenizer returns a tokenizer over v. lowercase selects the uncased
// behaviour (lower-casing and accent stripping); set it for uncased
// vocabularies such as bert-base-uncased's.
func NewTokenizer(v *Vocab, lowercase bool) *Tokenizer {
	t := &Tokenizer{vocab: v, lowercase: lowercase}
	for c := range t.asciiPiece {
		id, ok := v.ids[string(rune(c))]
		if !ok {
			id = v.unk
		}
		t.asciiPiece[c] = id
	}
	t.scratch.New = func() any { return new(tokScratch) }
	return t
}

// Vocab returns the tokenizer's vocabulary.
func (t *Tokenizer) Vocab() *Vocab { return t.vocab }

// Lowercase reports whether t lower-cases and strips accents.
func (t *Tokenizer) Lowercase() bool { return t.lowercase }

// Tokenize returns the WordPiece tokens of text, without special tokens. The
// strings are the vocabulary's own (no per-token allocation).
func (t *Tokenizer) Tokenize(text string) []string {
	s := t.scratch.Get().(*tokScratch)
	s.ids = t.appendIDs(s.ids[:0], text, s)
	out := make([]string, len(s.ids))
	for i, id := range s.ids {
		out[i] = t.vocab.tokens[id]
	}
	t.scratch.Put(s)
	return out
}

// AppendIDs appends the WordPiece ids of text (without special tokens) to dst
// and returns the extended slice. It allocates nothing once dst has room.
func (t *Tokenizer) AppendIDs(dst []int32, text string) []int32 {
	s := t.scratch.Get().(*tokScratch)
	dst = t.appendIDs(dst, text, s)
	t.scratch.Put(s)
	return dst
}

// Encoding is one model input: [CLS] a [SEP] for a single text, or
// [CLS] a [SEP] b [SEP] for a pair. All three slices have the same length.
type Encoding struct {
	IDs     []int32  // token ids
	TypeIDs []int32  // segment of each token: 0 for [CLS], a and its [SEP]; 1 for b and its [SEP]
	Tokens  []string // the tokens, spelled as in the vocabulary
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

// Encode encodes one text as [CLS] text [SEP], dropping the last tokens of
// text if needed so that the whole fits in maxLen tokens. maxLen <= 0 means
// no limit; otherwise it must be at least 2.
func (t *Tokenizer) Encode(text string, maxLen int) Encoding {
	var e Encoding
	t.EncodeTo(&e, text, "", false, maxLen)
	return e
}

// EncodePair encodes a pair as [CLS] a [SEP] b [SEP] (b may be empty, which
// still gives the second [SEP]). If the whole exceeds maxLen tokens the
// segments are truncated longest first: while too long, the last token of
// the longer segment is dropped (of b when both are as long). maxLen <= 0
// means no limit; otherwise it must be at least 3.
func (t *Tokenizer) EncodePair(a, b string, maxLen int) Encoding {
	var e Encoding
	t.EncodeTo(&e, a, b, true, maxLen)
	return e
}

// EncodeTo is Encode (pair false, b ignored) or EncodePair (pair true)
// writing into dst, reusing its slices' storage.
func (t *Tokenizer) EncodeTo(dst *Encoding, a, b string, pair bool, maxLen int) {
	specials := 2
	if pair {
		specials = 3
	}
	if maxLen > 0 && maxLen < specials {
		panic(fmt.Sprintf("bert: maxLen %d cannot hold the %d special tokens of an encoding", maxLen, specials))
	}
	s := t.scratch.Get().(*tokScratch)
	defer t.scratch.Put(s)

	ids := append(dst.IDs[:0], t.vocab.cls)
	ids = t.appendIDs(ids, a, s)
	la := len(ids) - 1
	lb := 0
	if pair {
		s.ids = t.appendIDs(s.ids[:0], b, s)
		lb = len(s.ids)
	}
	if maxLen > 0 {
		la, lb = truncateLongestFirst(la, lb, maxLen-specials)
	}
	ids = append(ids[:1+la], t.vocab.sep)
	if pair {
		ids = append(ids, s.ids[:lb]...)
		ids = append(ids, t.vocab.sep)
	}
	n := len(ids)
	dst.IDs = ids
	dst.TypeIDs = slices.Grow(dst.TypeIDs[:0], n)[:n]
	dst.Tokens = slices.Grow(dst.Tokens[:0], n)[:n]
	for i, id := range ids {
		dst.Tokens[i] = t.vocab.tokens[id]
		dst.TypeIDs[i] = 0
		if i >= la+2 {
			dst.TypeIDs[i] = 1
		}
	}
}

// truncateLongestFirst returns the segment lengths after dropping tokens from
// the end of the longer segment (of b on ties) until la+lb <= room.
func truncateLongestFirst(la, lb, room int) (int, int) {
	for la+lb > room {
		if la > lb {
			la--
		} else {
			lb--
		}
	}
	return la, lb
}

// Character classes of ASCII bytes.
const (
	asciiWord    = iota // letters, digits: part of a word
	asciiSpace          // \t \n \r and space: separate words
	asciiRemoved        // other control characters and DEL: dropped
	asciiPunct          // every other printable symbol: a word of its own
)

var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for b := range c {
		switch {
		case b == '\t' || b == '\n' || b == '\r' || b == ' ':
			c[b] = asciiSpace
		case b < ' ' || b == 0x7f:
			c[b] = asciiRemoved
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
			c[b] = asciiWord
		default:
			c[b] = asciiPunct
		}
	}
	return c
}()

// isRemoved reports whether cleaning drops r: NUL, U+FFFD (also what invalid
// UTF-8 decodes to) and every category C character other than \t \n \r,
// unassigned code points included.
func isRemoved(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == asciiRemoved
	}
	if r == utf8.RuneError {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isSeparator reports whether the non-ASCII r separates words: category Zs,
// and the line and paragraph separators that Python's str.split() splits on.
func isSeparator(r rune) bool {
	return r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Zs, r)
}

// isCJK reports whether r is a CJK ideograph (the blocks the BERT tokenizer
// splits into single characters: Unified Ideographs and Extensions A-E,
// Compatibility Ideographs and their Supplement).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// isPunct reports whether r is split off as punctuation.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == asciiPunct
	}
	return unicode.IsPunct(r)
}

// appendIDs appends the pieces of text to dst. Whitespace-separated chunks
// made only of ASCII (removed characters aside) take a byte-at-a-time path;
// any other chunk goes through slowChunk, which follows the reference
// algorithm step by step.
func (t *Tokenizer) appendIDs(dst []int32, text string, s *tokScratch) []int32 {
	n := len(text)
	i := 0
	for i < n {
		c := text[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] == asciiSpace || asciiClass[c] == asciiRemoved {
				i++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(text[i:])
			if isRemoved(r) || isSeparator(r) {
				i += size
				continue
			}
			if isCJK(r) {
				dst = t.slowChunk(dst, text[i:i+size], s)
				i += size
				continue
			}
		}
		// A chunk starts at i. Try the ASCII path; it gives up (returning
		// ok false) at the first character that needs the general one.
		mark := len(dst)
		var next int
		var ok bool
		dst, next, ok = t.asciiChunk(dst, text, i, s)
		if !ok {
			end := chunkEnd(text, i)
			dst = t.slowChunk(dst[:mark], text[i:end], s)
			next = end
		}
		i = next
	}
	return dst
}

// asciiChunk tokenizes the chunk of text starting at i if it holds only ASCII
// and removed characters, returning the index after it. It reports false,
// leaving the caller to discard what it appended, at any other non-ASCII
// character.
func (t *Tokenizer) asciiChunk(dst []int32, text string, i int, s *tokScratch) ([]int32, int, bool) {
	w := s.word[:0]
	n := len(text)
	lower := t.lowercase
loop:
	for i < n {
		c := text[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(text[i:])
			switch {
			case isRemoved(r):
				i += size
				continue
			case isSeparator(r) || isCJK(r):
				break loop
			}
			s.word = w
			return dst, i, false
		}
		switch asciiClass[c] {
		case asciiWord:
			if lower && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			w = append(w, c)
		case asciiPunct:
			if len(w) > 0 {
				dst = t.wordPiece(dst, w)
				w = w[:0]
			}
			dst = append(dst, t.asciiPiece[c])
		case asciiSpace:
			break loop
		}
		i++
	}
	if len(w) > 0 {
		dst = t.wordPiece(dst, w)
	}
	s.word = w
	return dst, i, true
}

// chunkEnd returns the end of the whitespace-delimited chunk starting at i: the
// next separator or CJK ideograph, or the end of text.
func chunkEnd(text string, i int) int {
	for i < len(text) {
		c := text[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] == asciiSpace {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if isSeparator(r) || (isCJK(r) && !isRemoved(r)) { // the CJK blocks have unassigned holes
			return i
		}
		i += size
	}
	return i
}

// slowChunk tokenizes one whitespace-delimited chunk (no separators inside)
// character by character: clean, lower-case and strip accents (if
// lowercase), split punctuation, WordPiece.
func (t *Tokenizer) slowChunk(dst []int32, chunk string, s *tokScratch) []int32 {
	rs := s.runes[:0]
	for _, r := range chunk {
		if !isRemoved(r) {
			rs = append(rs, r)
		}
	}
	s.runes = rs
	b := s.lower[:0]
	for k, r := range rs {
		if t.lowercase {
			switch r {
			case 'İ': // Python's full lower-case mapping: i + combining dot above
				b = append(b, 'i')
				r = '\u0307'
			case 'Σ':
				r = 'σ'
				if finalSigma(rs, k) {
					r = 'ς'
				}
			default:
				r = unicode.ToLower(r)
			}
		}
		b = utf8.AppendRune(b, r)
	}
	s.lower = b
	if t.lowercase {
		// norm.Iter kept in the scratch decomposes without allocating
		// (norm.NFD.Append allocates per call).
		d := s.nfd[:0]
		s.iter.Init(norm.NFD, b)
		for !s.iter.Done() {
			d = append(d, s.iter.Next()...)
		}
		s.nfd = d
		b = d
	}
	w := s.word[:0]
	for j := 0; j < len(b); {
		r, size := utf8.DecodeRune(b[j:])
		ch := b[j : j+size]
		j += size
		switch {
		case t.lowercase && unicode.Is(unicode.Mn, r):
		case isPunct(r):
			if len(w) > 0 {
				dst = t.wordPiece(dst, w)
				w = w[:0]
			}
			dst = t.wordPiece(dst, ch)
		default:
			w = append(w, ch...)
		}
	}
	if len(w) > 0 {
		dst = t.wordPiece(dst, w)
	}
	s.word = w
	return dst
}

// finalSigma reports whether the capital sigma at rs[k] lower-cases to the
// final form ς: preceded by a cased letter and not followed by one, skipping
// case-ignorable characters in both directions (Unicode's Final_Sigma
// condition, which Python's str.lower() applies).
func finalSigma(rs []rune, k int) bool {
	j := k - 1
	for j >= 0 && isCaseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !isCased(rs[j]) {
		return false
	}
	j = k + 1
	for j < len(rs) && isCaseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !isCased(rs[j])
}

// isCased is Unicode's Cased property.
func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable is Unicode's Case_Ignorable property: categories Mn, Me,
// Cf, Lm, Sk and the Word_Break classes MidLetter, MidNumLet, Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00B7', '\u0387', '\u055F', '\u05F4', '\u2018', '\u2019',
		'\u2024', '\u2027', '\uFE13', '\uFE52', '\uFE55', '\uFF07', '\uFF0E', '\uFF1A':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// wordPiece appends the WordPiece segmentation of word (valid UTF-8, no
// whitespace) to dst: greedy longest-match-first against the vocabulary,
// continuation pieces looked up without their "##". A word of more than
// MaxWordRunes characters, or one that cannot be fully segmented, gives a
// single [UNK].
func (t *Tokenizer) wordPiece(dst []int32, word []byte) []int32 {
	v := t.vocab
	n := len(word)
	if n > MaxWordRunes && utf8.RuneCount(word) > MaxWordRunes {
		return append(dst, v.unk)
	}
	// Most words are a token (map lookups keyed by string(bytes) do not
	// allocate); the loop below then starts one character shorter.
	triedWhole := n <= v.maxWord
	if triedWhole {
		if id, ok := v.ids[string(word)]; ok {
			return append(dst, id)
		}
	}
	mark := len(dst)
	m, longest := v.ids, v.maxWord
	for start := 0; start < n; {
		end := n
		if end-start > longest {
			end = start + longest
		} else if start == 0 && triedWhole {
			end--
		}
		for end > start && end < n && !utf8.RuneStart(word[end]) {
			end--
		}
		found := false
		for end > start {
			if id, ok := m[string(word[start:end])]; ok {
				dst = append(dst, id)
				found = true
				break
			}
			end--
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		if !found {
			return append(dst[:mark], v.unk)
		}
		start = end
		m, longest = v.cont, v.maxCont
	}
	return dst
}
