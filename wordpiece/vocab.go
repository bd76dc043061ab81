package wordpiece

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/petl-go/petl/internal/safefile"
)

// Special token spellings of BERT WordPiece vocabularies. LoadVocab requires
// all five.
const (
	TokenPad  = "[PAD]"
	TokenUnk  = "[UNK]"
	TokenCLS  = "[CLS]"
	TokenSEP  = "[SEP]"
	TokenMask = "[MASK]"
)

// wordPiecePrefix marks a piece that continues a word ("##ing").
const wordPiecePrefix = "##"

// Vocab is a WordPiece vocabulary: token i of the file (counting lines from
// 0) has id i. A Vocab is immutable and safe for concurrent use.
type Vocab struct {
	tokens []string         // id -> token
	ids    map[string]int32 // token -> id, every token
	// cont maps a continuation piece, without its "##" prefix, to the id of
	// "##piece": the word-internal lookups then need no concatenation.
	cont    map[string]int32
	maxWord int // longest token in bytes (bounds word-initial candidates)
	maxCont int // longest continuation piece in bytes, without "##"

	pad, unk, cls, sep, mask int32
}

// LoadVocab reads a WordPiece vocabulary file in the Hugging Face / original
// BERT layout: UTF-8, one token per line, the line number (from 0) being the
// id. A trailing "\r" on a line is dropped. It fails, naming the file and the
// line, when the file is missing or empty, a line is empty or not UTF-8, a
// token appears twice, or one of [PAD], [UNK], [CLS], [SEP], [MASK] is absent;
// and, before reading anything, when path is not a regular file (a named
// pipe, a device) or is larger than 16 MiB (safefile.MaxVocab).
func LoadVocab(path string) (*Vocab, error) {
	data, err := safefile.ReadFile(path, safefile.MaxVocab, "a vocabulary")
	if err != nil {
		return nil, fmt.Errorf("bert: reading vocabulary: %w", err)
	}
	v, err := parseVocab(data)
	if err != nil {
		return nil, fmt.Errorf("bert: vocabulary %s: %w", path, err)
	}
	return v, nil
}

// NewVocab builds a vocabulary from tokens in id order, with the same checks
// as LoadVocab.
func NewVocab(tokens []string) (*Vocab, error) {
	v, err := buildVocab(tokens)
	if err != nil {
		return nil, fmt.Errorf("bert: vocabulary: %w", err)
	}
	return v, nil
}

// errEmptyVocab reports a vocabulary without tokens.
var errEmptyVocab = errors.New("no tokens (empty file?)")

func parseVocab(data []byte) (*Vocab, error) {
	if len(data) == 0 {
		return nil, errEmptyVocab
	}
	data = bytes.TrimSuffix(data, []byte{'\n'})
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return buildVocab(lines)
}

func buildVocab(tokens []string) (*Vocab, error) {
	if len(tokens) == 0 {
		return nil, errEmptyVocab
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("%d tokens: ids must fit in int32", len(tokens))
	}
	v := &Vocab{
		tokens: tokens,
		ids:    make(map[string]int32, len(tokens)),
		cont:   make(map[string]int32),
	}
	for i, t := range tokens {
		line := i + 1
		switch {
		case t == "":
			return nil, fmt.Errorf("line %d: empty token", line)
		case !utf8.ValidString(t):
			return nil, fmt.Errorf("line %d: token %q is not valid UTF-8", line, t)
		}
		if prev, dup := v.ids[t]; dup {
			return nil, fmt.Errorf("line %d: token %q already on line %d", line, t, prev+1)
		}
		v.ids[t] = int32(i)
		v.maxWord = max(v.maxWord, len(t))
		if piece, ok := strings.CutPrefix(t, wordPiecePrefix); ok && piece != "" {
			v.cont[piece] = int32(i)
			v.maxCont = max(v.maxCont, len(piece))
		}
	}
	for _, s := range []struct {
		tok string
		id  *int32
	}{{TokenPad, &v.pad}, {TokenUnk, &v.unk}, {TokenCLS, &v.cls}, {TokenSEP, &v.sep}, {TokenMask, &v.mask}} {
		id, ok := v.ids[s.tok]
		if !ok {
			return nil, fmt.Errorf("special token %s missing (%d tokens read)", s.tok, len(tokens))
		}
		*s.id = id
	}
	return v, nil
}

// Fingerprint identifies the vocabulary: "sha256:" and the hex SHA-256 of
// its tokens in id order, each preceded by its length in bytes (a
// uvarint). It changes when any token, the order or the count changes, and
// does not depend on how the file ended its lines. Part of a base's
// identity (BaseFingerprint): the same weights read with another
// vocabulary compute another function of the text.
func (v *Vocab) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte("petl vocab v1\n"))
	var n [binary.MaxVarintLen64]byte
	for _, t := range v.tokens {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(t)))])
		h.Write([]byte(t))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Size returns the number of tokens (the embedding table's row count).
func (v *Vocab) Size() int { return len(v.tokens) }

// ID returns the id of token tok, and whether tok is in the vocabulary.
func (v *Vocab) ID(tok string) (int32, bool) {
	id, ok := v.ids[tok]
	return id, ok
}

// Token returns the token with id id. It panics if id is not in [0, Size()).
func (v *Vocab) Token(id int32) string {
	if id < 0 || int(id) >= len(v.tokens) {
		panic(fmt.Sprintf("bert: token id %d outside the vocabulary [0, %d)", id, len(v.tokens)))
	}
	return v.tokens[id]
}

// PadID returns the id of [PAD] (0 in the BERT vocabularies).
func (v *Vocab) PadID() int32 { return v.pad }

// UnkID returns the id of [UNK], given to words that have no WordPiece
// segmentation.
func (v *Vocab) UnkID() int32 { return v.unk }

// CLSID returns the id of [CLS], the first token of every encoding.
func (v *Vocab) CLSID() int32 { return v.cls }

// SEPID returns the id of [SEP], which ends each segment of an encoding.
func (v *Vocab) SEPID() int32 { return v.sep }

// MaskID returns the id of [MASK], used by masked-language-model training.
func (v *Vocab) MaskID() int32 { return v.mask }
