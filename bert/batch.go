package bert

import (
	"fmt"
	"slices"

	"github.com/petl-go/petl/wordpiece"
)

// Batch is B encodings padded to a common length T, laid out row-major
// (sequence b's token t at index b*T+t), ready for the embedding layer.
type Batch struct {
	B, T    int
	IDs     []int32   // B*T token ids, padID after each sequence's end
	TypeIDs []int32   // B*T segment ids, 0 at padding
	Mask    []float32 // B*T attention mask: 1 for a real token, 0 for padding
	Lens    []int     // B real lengths
}

// NewBatch pads encs into a new Batch. T is the longest encoding's length, or
// padTo if that is larger; padding positions get id padID (pass the
// vocabulary's PadID(), 0 for BERT vocabularies).
func NewBatch(encs []wordpiece.Encoding, padTo int, padID int32) *Batch {
	b := new(Batch)
	b.Fill(encs, padTo, padID)
	return b
}

// Fill is NewBatch into b, reusing its slices' storage when they are large
// enough: refilling a batch of the same or smaller size allocates nothing.
func (b *Batch) Fill(encs []wordpiece.Encoding, padTo int, padID int32) {
	T := max(padTo, 0)
	for i := range encs {
		e := &encs[i]
		if len(e.TypeIDs) != len(e.IDs) {
			panic(fmt.Sprintf("bert: encoding %d has %d ids but %d type ids", i, len(e.IDs), len(e.TypeIDs)))
		}
		T = max(T, len(e.IDs))
	}
	B := len(encs)
	b.B, b.T = B, T
	b.IDs = slices.Grow(b.IDs[:0], B*T)[:B*T]
	b.TypeIDs = slices.Grow(b.TypeIDs[:0], B*T)[:B*T]
	b.Mask = slices.Grow(b.Mask[:0], B*T)[:B*T]
	b.Lens = slices.Grow(b.Lens[:0], B)[:B]
	for i := range encs {
		e := &encs[i]
		n := len(e.IDs)
		b.Lens[i] = n
		ids := b.IDs[i*T : (i+1)*T]
		types := b.TypeIDs[i*T : (i+1)*T]
		mask := b.Mask[i*T : (i+1)*T]
		copy(ids, e.IDs)
		copy(types, e.TypeIDs)
		for t := range mask[:n] {
			mask[t] = 1
		}
		for t := n; t < T; t++ {
			ids[t], types[t], mask[t] = padID, 0, 0
		}
	}
}

// Tokens returns the number of real (unpadded) tokens in the batch.
func (b *Batch) Tokens() int {
	n := 0
	for _, l := range b.Lens {
		n += l
	}
	return n
}
