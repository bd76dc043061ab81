package pretrain

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/petl-go/petl/internal/splitmix"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/wordpiece"
)

// Document is a document of the corpus: its lines (sentences or
// paragraphs), in order.
type Document []string

// ReadCorpus reads a corpus file: one sentence or paragraph per line, a
// blank line between documents.
func ReadCorpus(path string) ([]Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pretrain: corpus: %w", err)
	}
	defer f.Close()
	docs, err := ParseCorpus(f)
	if err != nil {
		return nil, fmt.Errorf("pretrain: corpus %s: %w", path, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("pretrain: corpus %s has no text", path)
	}
	return docs, nil
}

// ParseCorpus reads documents from r (the layout of ReadCorpus).
func ParseCorpus(r io.Reader) ([]Document, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var docs []Document
	var cur Document
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			if len(cur) > 0 {
				docs = append(docs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(cur) > 0 {
		docs = append(docs, cur)
	}
	return docs, nil
}

// SplitHeldOut divides docs into training and held-out documents. A
// document is held out when a hash of its text falls in the first fraction
// of the hash range, so the split does not depend on the documents' order
// and a document keeps its side when the corpus grows.
func SplitHeldOut(docs []Document, fraction float64) (train, heldOut []Document) {
	limit := uint64(fraction * (1 << 32))
	for _, d := range docs {
		h := fnv.New64a()
		for _, l := range d {
			h.Write([]byte(l))
			h.Write([]byte{'\n'})
		}
		if splitmix.Mix64(h.Sum64())&(1<<32-1) < limit {
			heldOut = append(heldOut, d)
		} else {
			train = append(train, d)
		}
	}
	return train, heldOut
}

// Sequences are packed training sequences, stored flat: sequence i is
// IDs[Off[i]:Off[i+1]], [CLS] first and [SEP] last; when Split[i] > 0 the
// token at Split[i] is a [SEP] between two segments and the tokens after it
// have type id 1.
//
// Swapped[i] says that the two segments of sequence i are in the reverse of
// their order in the document (the sentence-order prediction label); it is
// nil when no sequence was swapped (PackOptions.Swap = 0).
type Sequences struct {
	IDs     []int32
	Off     []int   // len = N+1
	Split   []int32 // len = N; 0: one segment
	Swapped []bool  // len = N, or nil
}

// Len returns the number of sequences.
func (s *Sequences) Len() int { return len(s.Off) - 1 }

// Seq returns sequence i's ids.
func (s *Sequences) Seq(i int) []int32 { return s.IDs[s.Off[i]:s.Off[i+1]] }

// Tokens returns the number of tokens, special ones included.
func (s *Sequences) Tokens() int { return len(s.IDs) }

// Special are the ids of the special tokens.
type Special struct {
	CLS, SEP, PAD, Mask, UNK int32
}

// SpecialOf reads the special ids of a vocabulary.
func SpecialOf(v *wordpiece.Vocab) Special {
	return Special{CLS: v.CLSID(), SEP: v.SEPID(), PAD: v.PadID(), Mask: v.MaskID(), UNK: v.UnkID()}
}

// PackOptions control Pack.
type PackOptions struct {
	MaxLen int // tokens per sequence, [CLS] and [SEP]s included (at least 8)
	// TwoSegments is the probability that a sequence holding at least two
	// lines is split, at a line boundary drawn at random, into two segments
	// [CLS] A [SEP] B [SEP] (B with type id 1), so that the [SEP] and
	// segment embeddings that sentence-pair tasks use are trained too. No
	// next-sentence label is made.
	TwoSegments float64
	// Swap is the probability that the two segments of a split sequence
	// are put in reverse order, B before A, for sentence-order prediction
	// (ALBERT's SOP); Sequences.Swapped records it.
	Swap float64
	Seed uint64
}

// Pack tokenizes docs and packs them into sequences: consecutive lines of a
// document go into one sequence while they fit in MaxLen (room is left for
// the [SEP] of a split); a line longer than a sequence is cut into pieces.
// A sequence never holds text of two documents. Tokenizing runs on all
// CPUs; the result does not depend on their number.
func Pack(docs []Document, tok *wordpiece.Tokenizer, sp Special, opt PackOptions) (*Sequences, error) {
	if opt.MaxLen < 8 {
		return nil, fmt.Errorf("pretrain: sequence length %d is too short (at least 8)", opt.MaxLen)
	}
	// Tokenize documents in parallel into per-document line lists.
	type tokDoc struct {
		ids  []int32
		ends []int // end of each line in ids
	}
	tds := make([]tokDoc, len(docs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(docs)/64))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(docs); i += workers {
				var td tokDoc
				for _, l := range docs[i] {
					td.ids = tok.AppendIDs(td.ids, l)
					td.ends = append(td.ends, len(td.ids))
				}
				tds[i] = td
			}
		}(w)
	}
	wg.Wait()

	room := opt.MaxLen - 3 // [CLS] ... [SEP] ... [SEP]
	rng := nn.NewRNG(opt.Seed ^ 0x9ac4)
	s := &Sequences{Off: []int{0}}
	var lines [][]int32 // lines of the sequence being built
	used := 0
	emit := func() {
		if used == 0 {
			return
		}
		split := 0
		if len(lines) >= 2 && rng.Float64() < opt.TwoSegments {
			split = 1 + int(rng.Uint64()%uint64(len(lines)-1)) // lines before the split
		}
		swap := split > 0 && opt.Swap > 0 && rng.Float64() < opt.Swap
		if swap { // B, then A: rotate the lines in place (three reversals) so the split falls after B
			slices.Reverse(lines[:split])
			slices.Reverse(lines[split:])
			slices.Reverse(lines)
			split = len(lines) - split
		}
		s.IDs = append(s.IDs, sp.CLS)
		sepAt := int32(0)
		for k, l := range lines {
			if split > 0 && k == split {
				sepAt = int32(len(s.IDs) - s.Off[len(s.Off)-1])
				s.IDs = append(s.IDs, sp.SEP)
			}
			s.IDs = append(s.IDs, l...)
		}
		s.IDs = append(s.IDs, sp.SEP)
		s.Off = append(s.Off, len(s.IDs))
		s.Split = append(s.Split, sepAt)
		if opt.Swap > 0 {
			s.Swapped = append(s.Swapped, swap)
		}
		lines, used = lines[:0], 0
	}
	for _, td := range tds {
		start := 0
		for _, end := range td.ends {
			line := td.ids[start:end]
			start = end
			for len(line) > 0 {
				if used+len(line) <= room {
					lines = append(lines, line)
					used += len(line)
					break
				}
				if used > 0 {
					emit()
					continue
				}
				lines = append(lines, line[:room]) // a line longer than a sequence
				used = room
				line = line[room:]
				emit()
			}
		}
		emit()
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("pretrain: the corpus gave no tokens")
	}
	return s, nil
}

// SOPLabel returns sequence i's sentence-order label: 1 when its segments
// are swapped, 0 when they are in order, -1 when it has one segment.
func (s *Sequences) SOPLabel(i int) int32 {
	switch {
	case s.Split[i] == 0:
		return -1
	case s.Swapped != nil && s.Swapped[i]:
		return 1
	}
	return 0
}

// TypeIDs writes sequence i's token type ids into dst (len = its length).
func (s *Sequences) TypeIDs(dst []int32, i int) {
	n, split := s.Off[i+1]-s.Off[i], int(s.Split[i])
	for t := 0; t < n; t++ {
		if split > 0 && t > split {
			dst[t] = 1
		} else {
			dst[t] = 0
		}
	}
}
