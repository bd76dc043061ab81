package pretrain

import (
	"math"
	"slices"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
)

// MaskOptions is the BERT masking recipe.
type MaskOptions struct {
	Prob        float64 // share of a sequence's ordinary tokens chosen for prediction (0.15)
	MaskShare   float64 // of the chosen, the share replaced by [MASK] (0.8)
	RandomShare float64 // of the chosen, the share replaced by a random token (0.1); the rest stay unchanged
}

// DefaultMask is BERT's recipe: 15% chosen; 80% [MASK], 10% random, 10% kept.
func DefaultMask() MaskOptions { return MaskOptions{Prob: 0.15, MaskShare: 0.8, RandomShare: 0.1} }

// MLMBatch is a batch of masked sequences: the model input and, for the M
// chosen positions, where they are and which token was there.
type MLMBatch struct {
	bert.Batch
	Pos    []int32 // [M] chosen positions, as row indices b*T+t into the [B*T] grid
	Labels []int32 // [M] original token ids at Pos
	SOP    []int32 // [B] sentence-order labels (Sequences.SOPLabel)

	cand []int32 // scratch of Fill: one sequence's ordinary positions
}

// M returns the number of chosen positions.
func (b *MLMBatch) M() int { return len(b.Pos) }

// Fill builds the batch of sequences idx of s, padded to the longest, and
// masks it with rng: in each sequence, round(Prob × n) of its n ordinary
// tokens (never [CLS], [SEP] or [PAD]; at least one) are chosen uniformly
// without replacement; each chosen token becomes [MASK] with probability
// MaskShare, a random ordinary vocabulary token with probability
// RandomShare, and stays itself otherwise. It reuses b's storage.
func (b *MLMBatch) Fill(s *Sequences, idx []int, sp Special, vocab int, opt MaskOptions, rng *nn.RNG) {
	B := len(idx)
	T := 0
	for _, i := range idx {
		T = max(T, s.Off[i+1]-s.Off[i])
	}
	BT := B * T
	b.B, b.T = B, T
	b.IDs = slices.Grow(b.IDs[:0], BT)[:BT]
	b.TypeIDs = slices.Grow(b.TypeIDs[:0], BT)[:BT]
	b.Mask = slices.Grow(b.Mask[:0], BT)[:BT]
	b.Lens = b.Lens[:0]
	b.Pos, b.Labels, b.SOP = b.Pos[:0], b.Labels[:0], b.SOP[:0]
	cand := b.cand
	for r, i := range idx {
		seq := s.Seq(i)
		n := len(seq)
		row := b.IDs[r*T : (r+1)*T]
		copy(row, seq)
		s.TypeIDs(b.TypeIDs[r*T:r*T+n], i)
		for t := n; t < T; t++ {
			row[t], b.TypeIDs[r*T+t] = sp.PAD, 0
		}
		for t := 0; t < T; t++ {
			if t < n {
				b.Mask[r*T+t] = 1
			} else {
				b.Mask[r*T+t] = 0
			}
		}
		b.Lens = append(b.Lens, n)
		b.SOP = append(b.SOP, s.SOPLabel(i))

		cand = cand[:0]
		for t, id := range seq {
			if id != sp.CLS && id != sp.SEP && id != sp.PAD {
				cand = append(cand, int32(t))
			}
		}
		if len(cand) == 0 {
			continue
		}
		k := max(1, int(math.Round(opt.Prob*float64(len(cand)))))
		for j := 0; j < k; j++ { // partial Fisher-Yates: cand[:k] is a uniform k-subset
			u := j + int(rng.Uint64()%uint64(len(cand)-j))
			cand[j], cand[u] = cand[u], cand[j]
		}
		chosen := cand[:k]
		slices.Sort(chosen) // positions in order: reproducible, cache-friendly
		for _, t := range chosen {
			p := r*T + int(t)
			b.Pos = append(b.Pos, int32(p))
			b.Labels = append(b.Labels, row[t])
			switch x := rng.Float64(); {
			case x < opt.MaskShare:
				row[t] = sp.Mask
			case x < opt.MaskShare+opt.RandomShare:
				row[t] = randomToken(rng, sp, vocab)
			}
		}
	}
	b.cand = cand
}

// randomToken draws an ordinary token uniformly from the vocabulary.
func randomToken(rng *nn.RNG, sp Special, vocab int) int32 {
	for {
		id := int32(rng.Uint64() % uint64(vocab))
		if id != sp.CLS && id != sp.SEP && id != sp.PAD && id != sp.Mask && id != sp.UNK {
			return id
		}
	}
}
