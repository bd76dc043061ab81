package pretrain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/require"
)

// testWords are the ordinary tokens of the test vocabulary: each is one
// WordPiece token.
var testWords = strings.Fields(`the a cat dog sat on mat ran to park and saw bird big small red blue
	house tree car fast slow green old new man woman child ate food drank water sun moon day night`)

// testVocab writes a vocabulary (special tokens, then testWords) and
// returns its path and the tokenizer.
func testVocab(t *testing.T) (string, *wordpiece.Tokenizer) {
	t.Helper()
	toks := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","}, testWords...)
	path := filepath.Join(t.TempDir(), "vocab.txt")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(toks, "\n")+"\n"), 0o644))
	v, err := wordpiece.LoadVocab(path)
	require.NoError(t, err)
	return path, wordpiece.NewTokenizer(v, true)
}

// grammarCorpus makes documents of simple sentences with a learnable
// structure: "the <adj> <noun> <verb> the <noun> ." where the verb depends
// on the noun.
func grammarCorpus(n int, seed uint64) []Document {
	rng := nn.NewRNG(seed)
	nouns := []string{"cat", "dog", "man", "woman", "child", "bird"}
	verbs := map[string]string{"cat": "sat on", "dog": "ran to", "man": "ate", "woman": "drank", "child": "saw", "bird": "saw"}
	objs := map[string][]string{"sat on": {"mat"}, "ran to": {"park", "house"}, "ate": {"food"}, "drank": {"water"}, "saw": {"sun", "moon", "tree", "car"}}
	adjs := []string{"big", "small", "red", "blue", "old", "new", "green", "fast", "slow"}
	docs := make([]Document, n)
	for d := range docs {
		lines := 2 + int(rng.Uint64()%6)
		for l := 0; l < lines; l++ {
			noun := nouns[rng.Uint64()%uint64(len(nouns))]
			verb := verbs[noun]
			obj := objs[verb][rng.Uint64()%uint64(len(objs[verb]))]
			adj := adjs[rng.Uint64()%uint64(len(adjs))]
			docs[d] = append(docs[d], fmt.Sprintf("The %s %s %s the %s.", adj, noun, verb, obj))
		}
	}
	return docs
}

func TestParseCorpus(t *testing.T) {
	docs, err := ParseCorpus(strings.NewReader("\n\na b\n c d \n\n\n\ne f\n\ng\n"))
	require.NoError(t, err)
	require.Equal(t, []Document{{"a b", "c d"}, {"e f"}, {"g"}}, docs)
}

func TestSplitHeldOut(t *testing.T) {
	docs := grammarCorpus(2000, 1)
	train, held := SplitHeldOut(docs, 0.1)
	require.Equal(t, len(docs), len(train)+len(held))
	require.InDelta(t, 200, len(held), 60, "about a tenth held out")
	// The side of a document depends on its text only, not on its position.
	rev := make([]Document, len(docs))
	for i, d := range docs {
		rev[len(docs)-1-i] = d
	}
	_, held2 := SplitHeldOut(rev, 0.1)
	require.Equal(t, len(held), len(held2))
	key := func(d Document) string { return strings.Join(d, "\n") }
	in := map[string]bool{}
	for _, d := range held {
		in[key(d)] = true
	}
	for _, d := range held2 {
		require.True(t, in[key(d)])
	}
}

// TestPack checks packing: bounds, special tokens, no text lost or
// reordered, no sequence mixing two documents, long lines cut, and the
// two-segment split at a line boundary.
func TestPack(t *testing.T) {
	_, tok := testVocab(t)
	v := tok.Vocab()
	sp := SpecialOf(v)
	long := strings.Repeat("cat dog ", 40) // 80 tokens
	docs := []Document{
		{"the cat sat on the mat .", "the dog ran to the park .", "a bird saw the sun ."},
		{long},
		{"red", "blue car", "green tree and old house", "a man ate food", "a woman drank water"},
	}
	for _, tc := range []struct {
		name    string
		maxLen  int
		twoSegs float64
	}{{"len16", 16, 0}, {"len12-split", 12, 1}, {"len64-half", 64, 0.5}, {"len8", 8, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Pack(docs, tok, sp, PackOptions{MaxLen: tc.maxLen, TwoSegments: tc.twoSegs, Seed: 3})
			require.NoError(t, err)
			var content []int32
			docOf := map[int32]int{} // tokens unique to one document
			for d, doc := range docs {
				for _, l := range doc {
					for _, id := range tok.AppendIDs(nil, l) {
						if _, ok := docOf[id]; !ok {
							docOf[id] = d
						} else if docOf[id] != d {
							docOf[id] = -1
						}
					}
				}
			}
			var want []int32
			for _, doc := range docs {
				for _, l := range doc {
					want = tok.AppendIDs(want, l)
				}
			}
			splits := 0
			for i := 0; i < s.Len(); i++ {
				seq := s.Seq(i)
				require.LessOrEqual(t, len(seq), tc.maxLen)
				require.Equal(t, sp.CLS, seq[0])
				require.Equal(t, sp.SEP, seq[len(seq)-1])
				types := make([]int32, len(seq))
				s.TypeIDs(types, i)
				split := int(s.Split[i])
				if split > 0 {
					splits++
					require.Equal(t, sp.SEP, seq[split], "the split is a [SEP]")
					require.Greater(t, split, 1)
					require.Less(t, split, len(seq)-2, "both segments hold text")
				}
				docs := map[int]bool{}
				for p, id := range seq {
					if split > 0 && p > split {
						require.Equal(t, int32(1), types[p])
					} else {
						require.Equal(t, int32(0), types[p])
					}
					if p == 0 || p == len(seq)-1 || p == split && split > 0 {
						continue
					}
					require.NotEqual(t, sp.CLS, id)
					content = append(content, id)
					if d := docOf[id]; d >= 0 {
						docs[d] = true
					}
				}
				require.LessOrEqual(t, len(docs), 1, "sequence %d mixes documents", i)
			}
			require.Equal(t, want, content, "packing keeps every token, in order")
			switch {
			case tc.twoSegs == 0:
				require.Zero(t, splits)
			case tc.twoSegs == 1:
				require.Positive(t, splits)
			}
		})
	}
	_, err := Pack(docs, tok, sp, PackOptions{MaxLen: 4})
	require.Error(t, err)
}

// TestMaskStatistics checks the BERT recipe over many sequences: exactly
// round(15%) of the ordinary tokens chosen per sequence (at least one),
// never a special token or padding; of the chosen about 80% [MASK], 10% a
// random ordinary token, 10% unchanged; labels are the original tokens and
// nothing else changes.
func TestMaskStatistics(t *testing.T) {
	const V = 1000
	sp := Special{PAD: 0, UNK: 100, CLS: 101, SEP: 102, Mask: 103}
	rng := nn.NewRNG(5)
	s := &Sequences{Off: []int{0}}
	for i := 0; i < 400; i++ {
		n := 3 + int(rng.Uint64()%60)
		s.IDs = append(s.IDs, sp.CLS)
		split := int32(0)
		for j := 0; j < n; j++ {
			if j == n/2 && n > 6 && i%2 == 0 {
				split = int32(j + 1)
				s.IDs = append(s.IDs, sp.SEP)
				continue
			}
			s.IDs = append(s.IDs, 200+int32(rng.Uint64()%(V-200)))
		}
		s.IDs = append(s.IDs, sp.SEP)
		s.Off = append(s.Off, len(s.IDs))
		s.Split = append(s.Split, split)
	}
	var b MLMBatch
	var chosen, masked, random, kept int
	opt := DefaultMask()
	for lo := 0; lo < s.Len(); lo += 16 {
		idx := []int{}
		for i := lo; i < min(lo+16, s.Len()); i++ {
			idx = append(idx, i)
		}
		b.Fill(s, idx, sp, V, opt, rng)
		require.Equal(t, len(idx), b.B)
		perSeq := make([]int, b.B)
		for k, p := range b.Pos {
			r, tpos := int(p)/b.T, int(p)%b.T
			orig := s.Seq(idx[r])
			require.Less(t, tpos, len(orig), "padding is never chosen")
			o := orig[tpos]
			require.NotContains(t, []int32{sp.CLS, sp.SEP, sp.PAD}, o, "special tokens are never chosen")
			require.Equal(t, o, b.Labels[k])
			switch got := b.IDs[p]; {
			case got == sp.Mask:
				masked++
			case got == o:
				kept++
			default:
				require.NotContains(t, []int32{sp.CLS, sp.SEP, sp.PAD, sp.Mask, sp.UNK}, got)
				require.Less(t, got, int32(V))
				random++
			}
			perSeq[r]++
			if k > 0 {
				require.Greater(t, p, b.Pos[k-1], "positions in order")
			}
		}
		chosenAt := map[int32]bool{}
		for _, p := range b.Pos {
			chosenAt[p] = true
		}
		for r, i := range idx {
			seq := s.Seq(i)
			ordinary := 0
			for tpos := 0; tpos < b.T; tpos++ {
				p := int32(r*b.T + tpos)
				if tpos >= len(seq) {
					require.Equal(t, sp.PAD, b.IDs[p])
					require.Zero(t, b.Mask[p])
					continue
				}
				require.Equal(t, float32(1), b.Mask[p])
				if seq[tpos] != sp.CLS && seq[tpos] != sp.SEP {
					ordinary++
				}
				if !chosenAt[p] {
					require.Equal(t, seq[tpos], b.IDs[p], "unchosen tokens stay")
				}
			}
			require.Equal(t, max(1, int(math.Round(0.15*float64(ordinary)))), perSeq[r])
		}
		chosen += b.M()
	}
	require.Equal(t, chosen, masked+random+kept)
	fm, fr, fk := float64(masked)/float64(chosen), float64(random)/float64(chosen), float64(kept)/float64(chosen)
	t.Logf("%d chosen: %.3f [MASK], %.3f random, %.3f kept", chosen, fm, fr, fk)
	// chosen is about 2000: 4 standard deviations of a share p is 4·√(p(1-p)/n).
	sd := func(p float64) float64 { return 4 * math.Sqrt(p*(1-p)/float64(chosen)) }
	require.InDelta(t, 0.8, fm, sd(0.8))
	require.InDelta(t, 0.1, fr, sd(0.1))
	require.InDelta(t, 0.1, fk, sd(0.1))
}

// tinyConfig is a small run on the grammar corpus.
func tinyConfig(t *testing.T, out string) (Config, []Document) {
	vocabPath, tok := testVocab(t)
	cfg := DefaultConfig(tok.Vocab().Size())
	cfg.Model.NumLayers, cfg.Model.HiddenSize, cfg.Model.NumHeads, cfg.Model.IntermediateSize = 1, 16, 2, 32
	cfg.Model.MaxPositions = 32
	cfg.VocabPath, cfg.Out = vocabPath, out
	cfg.Steps, cfg.Batch, cfg.MaxLen, cfg.LR, cfg.Warmup = 60, 8, 24, 5e-3, 0.1
	cfg.HeldOut, cfg.EvalSeqs, cfg.EvalEvery = 0.1, 32, 30
	cfg.Seed = 11
	return cfg, grammarCorpus(300, 2)
}

// TestTinyRunLearns trains a small model for a few dozen steps: the
// training loss falls, and the held-out loss ends well below its start and
// below the unigram baseline.
func TestTinyRunLearns(t *testing.T) {
	cfg, docs := tinyConfig(t, "")
	cfg.Steps = 120
	tr, err := New(cfg, docs)
	require.NoError(t, err)
	res, err := tr.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, cfg.Steps, res.Steps)
	require.Len(t, res.Losses, cfg.Steps)
	mean := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v)
		}
		return s / float64(len(x))
	}
	first, last := mean(res.Losses[:10]), mean(res.Losses[len(res.Losses)-10:])
	require.Len(t, res.Evals, 1+cfg.Steps/cfg.EvalEvery)
	e0, e := res.Evals[0], res.Evals[len(res.Evals)-1]
	t.Logf("train loss %.3f -> %.3f; held-out %.3f -> %.3f (accuracy %.3f), unigram %.3f", first, last, e0.Loss, e.Loss, e.Accuracy, res.Unigram)
	require.Less(t, last, first-1, "training loss falls")
	require.Less(t, e.Loss, e0.Loss-1)
	require.Less(t, e.Loss, res.Unigram, "better than the unigram baseline")
	require.Greater(t, e.Accuracy, 0.2)

	// Evaluate measures the same weights on the same positions as the
	// run's last evaluation, and records nothing; with the masking of
	// training the same number of tokens is chosen, some of them altered
	// otherwise.
	require.Equal(t, e, tr.Evaluate(false))
	lenient := tr.Evaluate(true)
	require.Equal(t, e.Tokens, lenient.Tokens)
	require.NotEqual(t, e.Loss, lenient.Loss)
	require.Len(t, tr.result().Evals, len(res.Evals))
	require.Equal(t, res.Unigram, tr.Unigram())
}

// TestModelGradient checks the whole MLM loss gradient (head, gather,
// BackwardHidden through the encoder, tied embeddings) against central
// differences on a few parameters, with dropout off; and with sentence-order
// prediction, the gradient of the summed loss (the pooler and the
// sentence-order head included).
func TestModelGradient(t *testing.T) {
	for _, sop := range []bool{false, true} {
		t.Run(fmt.Sprintf("sop=%v", sop), func(t *testing.T) { testModelGradient(t, sop) })
	}
}

func testModelGradient(t *testing.T, sop bool) {
	cfg, docs := tinyConfig(t, "")
	cfg.Model.HiddenDropout, cfg.Model.AttentionDropout = 0, 0
	cfg.SOP, cfg.TwoSegments = sop, 1
	tr, err := New(cfg, docs)
	require.NoError(t, err)
	var b MLMBatch
	idx := []int{0, 1, 2, 3, 4, 5}
	b.Fill(tr.train, idx, tr.sp, cfg.Model.VocabSize, cfg.Mask, nn.NewRNG(1))
	if sop {
		labels := map[int32]int{}
		for _, y := range b.SOP {
			labels[y]++
		}
		require.Positive(t, labels[0], "sequences in order: %v", b.SOP)
		require.Positive(t, labels[1], "swapped sequences: %v", b.SOP)
	}
	tr.st.Train = true
	for _, p := range tr.ps {
		p.ZeroGrad()
	}
	_, _, s, err := tr.forwardLoss(&b, true)
	require.NoError(t, err)
	require.Equal(t, sop, s.n > 0)
	loss := func() float64 {
		l, _, s, err := tr.forwardLoss(&b, false)
		require.NoError(t, err)
		return float64(l) + s.loss
	}
	grads := map[string][]float32{}
	for _, p := range tr.ps {
		grads[p.Name] = append([]float32(nil), p.G...)
	}
	tr.st.Train = false
	rng := nn.NewRNG(9)
	for _, p := range tr.ps {
		g := grads[p.Name]
		// the entries with the largest gradients, and a few at random
		best := 0
		for i := range g {
			if math.Abs(float64(g[i])) > math.Abs(float64(g[best])) {
				best = i
			}
		}
		picks := []int{best}
		for k := 0; k < 6; k++ {
			picks = append(picks, int(rng.Uint64()%uint64(len(g))))
		}
		for _, i := range picks {
			const h = 1e-2
			old := p.W[i]
			p.W[i] = old + h
			fp := loss()
			p.W[i] = old - h
			fm := loss()
			p.W[i] = old
			num := (fp - fm) / (2 * h)
			require.InDelta(t, num, float64(g[i]), 5e-4+0.01*math.Abs(num), "%s[%d]", p.Name, i)
		}
	}
}

// TestCheckpointResume runs 60 steps straight, and again stopped by a
// cancelled context after step 23 (which writes a checkpoint) and resumed:
// the final weights, optimizer step and evaluations are the same, bit for
// bit. The checkpoint is a Hugging Face folder bert.OpenCheckpoint reads,
// with the MLM head under its names.
func TestCheckpointResume(t *testing.T) {
	outA := t.TempDir()
	cfgA, docs := tinyConfig(t, outA)
	trA, err := New(cfgA, docs)
	require.NoError(t, err)
	resA, err := trA.Run(context.Background())
	require.NoError(t, err)

	outB := t.TempDir()
	cfgB := cfgA
	cfgB.Out = outB
	ctx, cancel := context.WithCancel(context.Background())
	cfgB.OnStep = func(step int) {
		if step == 23 {
			cancel()
		}
	}
	trB, err := New(cfgB, docs)
	require.NoError(t, err)
	_, err = trB.Run(ctx)
	require.ErrorIs(t, err, ErrInterrupted)
	dir, err := LatestCheckpoint(outB)
	require.NoError(t, err)
	require.Equal(t, "checkpoint-23", filepath.Base(dir))

	cfgB.OnStep, cfgB.Resume = nil, true
	trB2, err := New(cfgB, docs)
	require.NoError(t, err)
	require.Equal(t, 23, trB2.Step())
	resB, err := trB2.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, resA.Evals, resB.Evals, "same evaluations")
	pa, pb := trA.ps, trB2.ps
	require.Equal(t, len(pa), len(pb))
	for i := range pa {
		require.Equal(t, pa[i].W, pb[i].W, "%s after resume", pa[i].Name)
	}
	require.Equal(t, trA.opt.Steps(), trB2.opt.Steps())

	// The final checkpoint in the Hugging Face layout.
	dirA, err := LatestCheckpoint(outA)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("checkpoint-%d", cfgA.Steps), filepath.Base(dirA))
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", optimizerFile, stateFile} {
		require.FileExists(t, filepath.Join(dirA, f))
	}
	ck, err := bert.OpenCheckpoint(dirA)
	require.NoError(t, err)
	defer ck.Close()
	require.True(t, ck.Has("cls.predictions.transform.dense.weight"))
	require.True(t, ck.Has("cls.predictions.bias"))
	stored, _ := ck.StoredName("embeddings.word_embeddings.weight")
	require.Equal(t, "bert.embeddings.word_embeddings.weight", stored)
	m, err := bert.New(ck.Config(), ck)
	require.NoError(t, err)
	h, err := bert.LoadMLMHead(m, ck)
	require.NoError(t, err)
	for i, p := range m.Params() {
		require.Equal(t, trA.model.Params()[i].W, p.W, p.Name)
	}
	for i, p := range h.Params() {
		require.Equal(t, trA.head.Params()[i].W, p.W, p.Name)
	}

	// Only the newest checkpoints are kept; a different run refuses to resume.
	steps, err := listCheckpoints(outA)
	require.NoError(t, err)
	require.Equal(t, []int{30, 60}, steps)
	cfgC := cfgA
	cfgC.Resume, cfgC.Batch = true, 4
	_, err = New(cfgC, docs)
	require.Error(t, err)
	require.Contains(t, err.Error(), "batch is 8 there, 4 here")
}

func TestConfigErrors(t *testing.T) {
	cfg, docs := tinyConfig(t, "")
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"steps", func(c *Config) { c.Steps = 0 }, "--steps"},
		{"maxlen", func(c *Config) { c.MaxLen = 100 }, "--max-len"},
		{"resume", func(c *Config) { c.Resume = true }, "--resume needs --out"},
		{"vocab", func(c *Config) { c.Model.VocabSize++ }, "vocabulary"},
		{"heldout", func(c *Config) { c.HeldOut = 0 }, "held-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			_, err := New(c, docs)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := New(cfg, nil)
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrInterrupted))
}

// TestPackSwap checks sentence-order packing: with Swap 1 every split
// sequence holds its document's second part first, labelled 1; with Swap 0
// nothing is swapped or labelled.
func TestPackSwap(t *testing.T) {
	_, tok := testVocab(t)
	sp := SpecialOf(tok.Vocab())
	docs := []Document{{"the cat sat on the mat .", "a dog ran to the park ."}, {"red car", "blue tree"}, {"old man"}}
	ids := func(s string) []int32 { return tok.AppendIDs(nil, s) }
	for _, swap := range []float64{0, 1} {
		s, err := Pack(docs, tok, sp, PackOptions{MaxLen: 32, TwoSegments: 1, Swap: swap, Seed: 5})
		require.NoError(t, err)
		require.Equal(t, 3, s.Len())
		for i, d := range docs {
			seq, label := s.Seq(i), s.SOPLabel(i)
			if len(d) == 1 {
				require.Equal(t, int32(-1), label, "one segment: no label")
				continue
			}
			first, second := d[0], d[1]
			if swap == 1 {
				first, second = second, first
			}
			want := append(append(append(append([]int32{sp.CLS}, ids(first)...), sp.SEP), ids(second)...), sp.SEP)
			require.Equal(t, want, seq, "document %d, swap %v", i, swap)
			require.Equal(t, int32(len(ids(first))+1), s.Split[i])
			require.Equal(t, int32(swap), label)
		}
		if swap == 0 {
			require.Nil(t, s.Swapped)
		}
	}
}

// orderCorpus has documents of two sentences whose order is learnable: the
// first always starts with "the", the second with "a".
func orderCorpus(n int, seed uint64) []Document {
	rng := nn.NewRNG(seed)
	nouns := []string{"cat", "dog", "man", "woman", "child", "bird", "car", "tree"}
	pick := func() string { return nouns[rng.Uint64()%uint64(len(nouns))] }
	docs := make([]Document, n)
	for d := range docs {
		docs[d] = Document{"the " + pick() + " saw the " + pick() + ".", "a " + pick() + " ran to the " + pick() + "."}
	}
	return docs
}

// TestSOPLearns trains MLM with sentence-order prediction on a corpus whose
// order can be told from the first word of each segment: held-out order
// accuracy ends near 1 (chance is 1/2), and the checkpoint stores the head
// as cls.seq_relationship beside a trained pooler.
func TestSOPLearns(t *testing.T) {
	out := t.TempDir()
	cfg, _ := tinyConfig(t, out)
	cfg.SOP, cfg.TwoSegments, cfg.Steps, cfg.EvalEvery = true, 1, 500, 500
	tr, err := New(cfg, orderCorpus(400, 3))
	require.NoError(t, err)
	pooler0 := append([]float32(nil), tr.Model().Pooler.W.W...)
	res, err := tr.Run(context.Background())
	require.NoError(t, err)
	e0, e := res.Evals[0], res.Evals[len(res.Evals)-1]
	t.Logf("held-out sentence order: loss %.3f -> %.3f, accuracy %.3f -> %.3f (%d sequences)", e0.SOPLoss, e.SOPLoss, e0.SOPAccuracy, e.SOPAccuracy, e.SOPSeqs)
	require.Positive(t, e.SOPSeqs)
	require.Greater(t, e.SOPAccuracy, 0.9)
	require.Less(t, e.SOPLoss, 0.3)
	require.NotEqual(t, pooler0, tr.Model().Pooler.W.W, "the pooler trains")

	dir, err := LatestCheckpoint(out)
	require.NoError(t, err)
	ck, err := bert.OpenCheckpoint(dir)
	require.NoError(t, err)
	defer ck.Close()
	w, err := ck.Tensor("cls.seq_relationship.weight", 2, cfg.Model.HiddenSize)
	require.NoError(t, err)
	require.Equal(t, tr.Model().Classifier.W.W, w)
	require.Empty(t, ck.Unexpected())
}

// TestInit starts a run from another run's checkpoint: its step-0
// evaluation is the source's last one (same weights, same held-out masks),
// and a sentence-order run can start from an MLM-only checkpoint (its
// sentence-order head starts random).
func TestInit(t *testing.T) {
	src := t.TempDir()
	cfg, docs := tinyConfig(t, src)
	cfg.Steps = 30
	tr, err := New(cfg, docs)
	require.NoError(t, err)
	res, err := tr.Run(context.Background())
	require.NoError(t, err)
	dir, err := LatestCheckpoint(src)
	require.NoError(t, err)

	cfg2 := cfg
	cfg2.Out, cfg2.Init, cfg2.Steps = t.TempDir(), dir, 10
	tr2, err := New(cfg2, docs)
	require.NoError(t, err)
	res2, err := tr2.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, res.Evals[len(res.Evals)-1].Loss, res2.Evals[0].Loss, "step 0 of the new run has the source's weights")
	require.Equal(t, 10, res2.Steps)

	cfg3 := cfg2
	cfg3.SOP, cfg3.Out = true, ""
	var log strings.Builder
	cfg3.Progress = &log
	_, err = New(cfg3, docs)
	require.NoError(t, err)
	require.Contains(t, log.String(), "no sentence-order head")

	cfg4 := cfg2
	cfg4.Init = filepath.Join(t.TempDir(), "missing")
	_, err = New(cfg4, docs)
	require.ErrorContains(t, err, "--init")
}

// TestLastRowsMatchFullPass checks that computing only the masked and
// [CLS] rows in the last layer (bert.State.LastRows, the default) trains
// as computing every row does: the same losses and predictions, and the
// same weights after a few steps (up to rounding), with dropout on, with
// and without sentence-order prediction.
func TestLastRowsMatchFullPass(t *testing.T) {
	for _, sop := range []bool{false, true} {
		t.Run(fmt.Sprintf("sop=%v", sop), func(t *testing.T) {
			cfg, docs := tinyConfig(t, "")
			cfg.Model.NumLayers, cfg.SOP = 2, sop
			run := func(full bool) ([]float32, []int, *Trainer) {
				tr, err := New(cfg, docs)
				require.NoError(t, err)
				tr.fullLast = full
				var losses []float32
				var correct []int
				for range 4 {
					loss, _, c, _, _, err := tr.trainStep()
					require.NoError(t, err)
					losses, correct = append(losses, loss), append(correct, c)
				}
				rows := len(tr.st.Hidden[cfg.Model.NumLayers]) / cfg.Model.HiddenSize
				if full {
					require.Equal(t, tr.batch.B*tr.batch.T, rows)
				} else {
					require.Less(t, rows, tr.batch.B*tr.batch.T/2, "the last layer computed only some rows")
				}
				return losses, correct, tr
			}
			lossFull, corrFull, trFull := run(true)
			lossLast, corrLast, trLast := run(false)
			for i := range lossFull {
				require.InEpsilon(t, lossFull[i], lossLast[i], 1e-5, "step %d", i+1)
			}
			require.Equal(t, corrFull, corrLast)
			for i, p := range trLast.ps {
				var d, mx float64
				for j, w := range trFull.ps[i].W {
					d = max(d, math.Abs(float64(p.W[j])-float64(w)))
					mx = max(mx, math.Abs(float64(w)))
				}
				require.LessOrEqual(t, d, 1e-5*mx+1e-7, "%s: max|diff| %g", p.Name, d)
			}
		})
	}
}
