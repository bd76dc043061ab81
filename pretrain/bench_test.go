package pretrain

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/wordpiece"
)

// BenchmarkPretrainStep measures one pretraining step of the shipped
// model's recipe (DefaultConfig: BERT-tiny over the bert-base-uncased
// vocabulary, batch 32, sequences of 128, 15% masked, dropout on, AdamW),
// forward, backward and update, at 1 and 2 kernel threads, on sequences
// packed from real text: SST-2's training sentences, eight to a document
// (67% of the batch's positions real tokens, the rest padding), or with
// PETL_BENCH_CORPUS=path every tenth document of a pretraining corpus
// (scripts/corpus/build.sh's: 77% real tokens). Metrics: tok/s (real
// tokens per second, the rate petl pretrain prints) and ms/step.
func BenchmarkPretrainStep(b *testing.B) {
	shared, err := sharedtest.Dir()
	if err != nil {
		b.Skip(err)
	}
	vocab := filepath.Join(shared, "data", "vocab", "bert-base-uncased-vocab.txt")
	v, err := wordpiece.LoadVocab(vocab)
	if err != nil {
		b.Fatal(err)
	}
	docs := benchDocs(b, filepath.Join(shared, "data", "glue", "SST-2", "train.tsv"))
	if path := os.Getenv("PETL_BENCH_CORPUS"); path != "" {
		all, err := ReadCorpus(path)
		if err != nil {
			b.Fatal(err)
		}
		docs = docs[:0]
		for i := 0; i < len(all); i += 10 {
			docs = append(docs, all[i])
		}
	}
	cfg := DefaultConfig(v.Size())
	cfg.VocabPath, cfg.Steps, cfg.HeldOut, cfg.EvalSeqs = vocab, 1<<30, 0.01, 1
	t, err := New(cfg, docs)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			defer kernels.SetThreads(kernels.Threads())
			kernels.SetThreads(threads)
			if _, _, _, _, _, err := t.trainStep(); err != nil { // arenas sized
				b.Fatal(err)
			}
			b.ResetTimer()
			tokens := 0
			for range b.N {
				_, n, _, _, _, err := t.trainStep()
				if err != nil {
					b.Fatal(err)
				}
				tokens += n
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/step")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchDocs reads the sentences of a GLUE single-sentence TSV file as
// documents of eight sentences each.
func benchDocs(b testing.TB, path string) []Document {
	f, err := os.Open(path)
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	var docs []Document
	var cur Document
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		text, _, _ := strings.Cut(sc.Text(), "\t")
		cur = append(cur, text)
		if len(cur) == 8 {
			docs, cur = append(docs, cur), nil
		}
	}
	return docs
}
