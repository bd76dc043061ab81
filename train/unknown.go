package train

import (
	"fmt"

	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// UnknownWarnShare is the share of [UNK] wordpieces above which
// UnknownCount.Warning warns: a model reading that much [UNK] has lost words,
// most often because the text is not cased as the vocabulary expects (an
// uncased vocabulary read without lower-casing turns every capitalised word
// into [UNK]).
const UnknownWarnShare = 0.01

// UnknownCount is how many of a data set's wordpieces a tokenizer maps to
// [UNK].
type UnknownCount struct {
	Wordpieces int // wordpieces of every text, in full (no truncation, no special tokens)
	Unknown    int // of which [UNK]
}

// CountUnknown tokenizes every text of ds (both texts of a pair, whole)
// with tok and counts the wordpieces and the [UNK] among them.
func CountUnknown(tok *wordpiece.Tokenizer, ds *task.Dataset) UnknownCount {
	var c UnknownCount
	if ds == nil {
		return c
	}
	unk := tok.Vocab().UnkID()
	var ids []int32
	for i := range ds.Examples {
		ex := &ds.Examples[i]
		ids = tok.AppendIDs(ids[:0], ex.A)
		if ex.B != "" {
			ids = tok.AppendIDs(ids, ex.B)
		}
		c.Wordpieces += len(ids)
		for _, id := range ids {
			if id == unk {
				c.Unknown++
			}
		}
	}
	return c
}

// Share is Unknown / Wordpieces (0 for no wordpieces).
func (c UnknownCount) Share() float64 {
	if c.Wordpieces == 0 {
		return 0
	}
	return float64(c.Unknown) / float64(c.Wordpieces)
}

// String says the share, e.g. "0.02% of 10,088 wordpieces are [UNK] (2)".
func (c UnknownCount) String() string {
	return fmt.Sprintf("%s of %s wordpieces are [UNK] (%s)", percent(c.Share()), thousands(c.Wordpieces), thousands(c.Unknown))
}

// percent writes a share as a percentage: one decimal from 1%, two below.
func percent(s float64) string {
	if s >= 0.01 {
		return fmt.Sprintf("%.1f%%", 100*s)
	}
	return fmt.Sprintf("%.2f%%", 100*s)
}

// Warning returns a warning line (no newline) about the data called name
// when its share of [UNK] is above UnknownWarnShare, and "" otherwise;
// lowercase is whether the tokenizer lower-cases.
func (c UnknownCount) Warning(name string, lowercase bool) string {
	if c.Share() <= UnknownWarnShare {
		return ""
	}
	return fmt.Sprintf("warning: %s: %s of wordpieces are [UNK]: is the casing right? the tokenizer lower-cases: %v "+
		"(an uncased vocabulary needs lower-cased text, a cased one the text as written; petl's --lowercase sets it)",
		name, percent(c.Share()), lowercase)
}

// thousands writes n with thousands separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}
