package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/task"
)

// tinyDir is the shipped BERT-tiny, relative to this package.
const tinyDir = "petl-bert-tiny"

// openTiny opens the shipped model with bert.OpenCheckpoint (verified). A
// missing folder or file fails the test: the model is part of the
// repository, so its absence is a bug, not a reason to skip.
func openTiny(t *testing.T) *bert.Checkpoint {
	t.Helper()
	for _, f := range []string{bert.ConfigFileName, bert.WeightsFileName, "vocab.txt"} {
		p := filepath.Join(tinyDir, f)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the shipped model is missing: %v (models/%s must hold %s, %s and vocab.txt)", err, tinyDir, bert.ConfigFileName, bert.WeightsFileName)
		}
	}
	ck, err := bert.OpenCheckpoint(tinyDir)
	require.NoError(t, err, "opening the shipped model models/%s", tinyDir)
	t.Cleanup(func() { require.NoError(t, ck.Close()) })
	return ck
}

// glueDir finds the shared GLUE data (see sharedtest), skipping the test
// when it is absent.
func glueDir(t *testing.T) string {
	t.Helper()
	return sharedtest.Path(t, "data", "glue")
}

// TestTinyCheckpoint checks that the shipped model opens verified, is a
// BERT-tiny, and carries its MLM head.
func TestTinyCheckpoint(t *testing.T) {
	ck := openTiny(t)
	cfg := ck.Config()
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"vocab_size", cfg.VocabSize, 30522},
		{"hidden_size", cfg.HiddenSize, 128},
		{"num_hidden_layers", cfg.NumLayers, 2},
		{"num_attention_heads", cfg.NumHeads, 2},
		{"intermediate_size", cfg.IntermediateSize, 512},
		{"max_position_embeddings", cfg.MaxPositions, 512},
		{"type_vocab_size", cfg.TypeVocabSize, 2},
		{"hidden_act", cfg.HiddenAct, "gelu"},
		{"position_embedding_type", cfg.PositionEmbeddingType, "absolute"},
	} {
		require.Equal(t, c.want, c.got, "config.json %s", c.field)
	}
	for _, name := range bert.MLMTensorNames() {
		require.True(t, ck.Has(name), "model.safetensors lacks the MLM head tensor %s", name)
	}
	m, err := bert.New(cfg, ck)
	require.NoError(t, err)
	_, err = bert.LoadMLMHead(m, ck)
	require.NoError(t, err)
}

// The prediction test reads the first mlmSentences dev sentences of each
// task, encodes each in at most mlmMaxLen tokens, masks them with a
// generator seeded with mlmMaskSeed, and runs the models mlmBatch
// sentences at a time.
const (
	mlmSentences = 200
	mlmMaxLen    = 64
	mlmMaskSeed  = 15
	mlmBatch     = 32
)

// maskedSet is a set of encodings with some tokens replaced by [MASK]:
// for masked token i, Seq[i] is its sequence, Pos[i] its position there
// and Label[i] the token that was there.
type maskedSet struct {
	Encs           []wordpiece.Encoding
	Seq, Pos       []int
	Label          []int32
	tokens, masked int
}

// maskDevSentences encodes the first mlmSentences dev sentences of SST-2
// and CoLA and masks 15% of the ordinary wordpieces of each (at least one;
// never [CLS], [SEP] or [UNK]), chosen uniformly with a fixed seed.
func maskDevSentences(t *testing.T, tok *wordpiece.Tokenizer) *maskedSet {
	t.Helper()
	dir := glueDir(t)
	v := tok.Vocab()
	rng := rand.New(rand.NewPCG(mlmMaskSeed, 0))
	s := new(maskedSet)
	for _, name := range []string{"sst2", "cola"} {
		spec, err := task.Lookup(name)
		require.NoError(t, err)
		ds, err := task.Load(spec, dir, "dev", task.Options{})
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(ds.Examples), mlmSentences, "%s dev", spec.Name)
		for _, ex := range ds.Examples[:mlmSentences] {
			e := tok.Encode(ex.A, mlmMaxLen)
			var cand []int
			for p, id := range e.IDs {
				if id != v.CLSID() && id != v.SEPID() && id != v.UnkID() {
					cand = append(cand, p)
				}
			}
			if len(cand) == 0 {
				continue
			}
			k := max(1, int(math.Round(0.15*float64(len(cand)))))
			rng.Shuffle(len(cand), func(i, j int) { cand[i], cand[j] = cand[j], cand[i] })
			for _, p := range cand[:k] {
				s.Seq = append(s.Seq, len(s.Encs))
				s.Pos = append(s.Pos, p)
				s.Label = append(s.Label, e.IDs[p])
				e.IDs[p] = v.MaskID()
			}
			s.Encs = append(s.Encs, e)
			s.tokens += len(cand)
		}
	}
	s.masked = len(s.Label)
	return s
}

// mlmScore is masked-token prediction: the share of masked tokens to which
// the model gives its highest probability and their mean cross-entropy
// (nats).
type mlmScore struct {
	Accuracy, Loss float64
}

// predictMasked runs model and head over the set, in batches, without
// dropout, and scores the predictions at the masked positions.
func predictMasked(t *testing.T, m *bert.Model, head *bert.MLMHead, s *maskedSet) mlmScore {
	t.Helper()
	C, V := m.Config.HiddenSize, m.Config.VocabSize
	var st bert.State
	var b bert.Batch
	var ar nn.Arena
	var acts bert.MLMActs
	var correct int
	var lossSum float64
	i := 0 // next masked token
	for lo := 0; lo < len(s.Encs); lo += mlmBatch {
		hi := min(len(s.Encs), lo+mlmBatch)
		b.Fill(s.Encs[lo:hi], 0, 0) // [PAD] is id 0 in BERT vocabularies
		require.NoError(t, m.Forward(&st, &b))
		hidden := st.Hidden[len(st.Hidden)-1] // [B*T, C]
		j := i
		for j < s.masked && s.Seq[j] < hi {
			j++
		}
		M := j - i
		ar.Reset()
		x := ar.Alloc(M * C) // the masked rows
		for r := range M {
			row := (s.Seq[i+r]-lo)*b.T + s.Pos[i+r]
			copy(x[r*C:(r+1)*C], hidden[row*C:(row+1)*C])
		}
		logits := ar.Alloc(M * V)
		head.Forward(&acts, logits, x, M, &ar)
		kernels.SoftmaxRows(logits, logits, M, V, 1, nil) // in place
		for r := range M {
			p := logits[r*V : (r+1)*V]
			py := p[s.Label[i+r]]
			lossSum -= math.Log(max(float64(py), 1e-30))
			if py == kernels.Max(p) {
				correct++
			}
		}
		i = j
	}
	require.Equal(t, s.masked, i, "every masked token scored")
	return mlmScore{Accuracy: float64(correct) / float64(s.masked), Loss: lossSum / float64(s.masked)}
}

// mostFrequent is the baseline that predicts, everywhere, the token most
// often masked in s (chosen knowing the answers): its accuracy, and the
// token.
func mostFrequent(s *maskedSet) (float64, int32) {
	counts := map[int32]int{}
	var top int32
	for _, y := range s.Label {
		counts[y]++
		if counts[y] > counts[top] || (counts[y] == counts[top] && y < top) {
			top = y
		}
	}
	return float64(counts[top]) / float64(s.masked), top
}

// unigramBaseline scores the context-free prediction of the masked tokens
// of s from the wordpiece frequencies of the SST-2 and CoLA training text
// (the text of the same tasks that pretraining saw), add-one smoothed:
// its cross-entropy, and the accuracy of always predicting its most
// frequent wordpiece, which it returns too.
func unigramBaseline(t *testing.T, tok *wordpiece.Tokenizer, s *maskedSet) (mlmScore, int32) {
	t.Helper()
	dir := glueDir(t)
	counts := make([]float64, tok.Vocab().Size())
	var n float64
	var ids []int32
	for _, name := range []string{"sst2", "cola"} {
		spec, err := task.Lookup(name)
		require.NoError(t, err)
		ds, err := task.Load(spec, dir, "train", task.Options{})
		require.NoError(t, err)
		for _, ex := range ds.Examples {
			ids = tok.AppendIDs(ids[:0], ex.A)
			for _, id := range ids {
				counts[id]++
			}
			n += float64(len(ids))
		}
	}
	var top int32
	for id, c := range counts {
		if c > counts[top] {
			top = int32(id)
		}
	}
	var sc mlmScore
	for _, y := range s.Label {
		sc.Loss -= math.Log((counts[y] + 1) / (n + float64(len(counts))))
		if y == top {
			sc.Accuracy++
		}
	}
	sc.Loss /= float64(s.masked)
	sc.Accuracy /= float64(s.masked)
	return sc, top
}

// TestTinyPredictsMaskedTokens checks that the shipped model learnt from
// its pretraining: on held-out sentences it predicts masked wordpieces far
// better than the same architecture untrained and clearly better than the
// context-free baselines (the shipped model measured accuracy 0.299 and
// 4.44 nats, against 0.074 for always "." and 6.82 nats for the unigram);
// the bounds leave a margin; the test logs the figures.
func TestTinyPredictsMaskedTokens(t *testing.T) {
	ck := openTiny(t)
	cfg := ck.Config()
	vocab, err := wordpiece.LoadVocab(filepath.Join(tinyDir, "vocab.txt"))
	require.NoError(t, err)
	require.Equal(t, cfg.VocabSize, vocab.Size(), "vocab.txt size against config.json vocab_size")
	tok := wordpiece.NewTokenizer(vocab, true)
	set := maskDevSentences(t, tok)
	require.Greater(t, set.masked, 500, "masked tokens")

	trained, err := bert.New(cfg, ck)
	require.NoError(t, err)
	trainedHead, err := bert.LoadMLMHead(trained, ck)
	require.NoError(t, err)
	random, err := bert.NewRandom(cfg, 0, 1)
	require.NoError(t, err)
	randomHead, err := bert.NewMLMHead(random, 2)
	require.NoError(t, err)

	got := predictMasked(t, trained, trainedHead, set)
	rnd := predictMasked(t, random, randomHead, set)
	constAcc, constTok := mostFrequent(set)
	uni, uniTok := unigramBaseline(t, tok, set)
	t.Logf("%d sentences (SST-2 and CoLA dev), %d wordpieces, %d masked", len(set.Encs), set.tokens, set.masked)
	t.Logf("shipped model:     accuracy %.4f  cross-entropy %.3f nats", got.Accuracy, got.Loss)
	t.Logf("random BERT-tiny:  accuracy %.4f  cross-entropy %.3f nats (uniform %.3f)", rnd.Accuracy, rnd.Loss, math.Log(float64(cfg.VocabSize)))
	t.Logf("unigram (train):   accuracy %.4f  cross-entropy %.3f nats (always %q)", uni.Accuracy, uni.Loss, vocab.Token(uniTok))
	t.Logf("most frequent masked token %q: accuracy %.4f", vocab.Token(constTok), constAcc)

	for _, c := range []struct {
		what       string
		got, bound float64
		below      bool // got must be below bound, else above
	}{
		{"cross-entropy against the random model's less 2.5 nats", got.Loss, rnd.Loss - 2.5, true},
		{"accuracy against the random model's plus 0.03", got.Accuracy, rnd.Accuracy + 0.03, false},
		{"cross-entropy against the unigram's less 0.5 nats", got.Loss, uni.Loss - 0.5, true},
		{fmt.Sprintf("accuracy against twice that of always predicting %q", vocab.Token(constTok)), got.Accuracy, 2 * constAcc, false},
	} {
		if c.below {
			require.Less(t, c.got, c.bound, c.what)
		} else {
			require.Greater(t, c.got, c.bound, c.what)
		}
	}
}

// TestShippedCasing: the shipped model was pretrained on lower-cased text,
// and says so in its tokenizer_config.json; its vocabulary alone gives the
// same answer.
func TestShippedCasing(t *testing.T) {
	vocab, err := wordpiece.LoadVocab(filepath.Join(tinyDir, "vocab.txt"))
	require.NoError(t, err)
	c, err := wordpiece.CheckpointCasing(tinyDir, vocab)
	require.NoError(t, err)
	assert.True(t, c.Lowercase, "casing of the shipped model: %v", c)
	assert.Contains(t, c.Source, wordpiece.TokenizerConfigFile)
	assert.True(t, wordpiece.VocabCasing(vocab).Lowercase, "casing from the vocabulary alone")
}
