package benchmarks

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/wordpiece"
)

// tokShared returns the shared data folder (see sharedtest), skipping the
// benchmark when it is absent.
func tokShared(b *testing.B) string {
	b.Helper()
	return sharedtest.Path(b)
}

// tokSST2Train returns the sentences of SST-2's train.tsv (header
// "sentence\tlabel").
func tokSST2Train(b *testing.B, shared string) []string {
	b.Helper()
	path := filepath.Join(shared, "data", "glue", "SST-2", "train.tsv")
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("SST-2 train set not available: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		sentence, _, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			b.Fatalf("%s: line without a tab: %q", path, sc.Text())
		}
		out = append(out, sentence)
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	return out
}

// BenchmarkTokenizer tokenizes the SST-2 training sentences with the
// bert-base-uncased vocabulary, one sentence per op, and reports WordPiece
// tokens per second (special tokens not counted). Tokenize returns strings,
// AppendIDs ids into a reused slice, EncodeTo a full [CLS] s [SEP] encoding
// truncated to 128 into a reused Encoding. Besides wall-clock tokens/s it
// reports tokens per second of process CPU time (tokens/cpu-s), which stays
// meaningful on a shared machine; run with -cpu 1 for the one-core figure.
func BenchmarkTokenizer(b *testing.B) {
	shared := tokShared(b)
	sentences := tokSST2Train(b, shared)
	v, err := wordpiece.LoadVocab(filepath.Join(shared, "data", "vocab", "bert-base-uncased-vocab.txt"))
	if err != nil {
		b.Fatal(err)
	}
	tok := wordpiece.NewTokenizer(v, true)

	run := func(b *testing.B, one func(s string) int) {
		var tokens, bytes int64
		cpu0 := tokCPUSeconds()
		for i := 0; b.Loop(); i++ {
			s := sentences[i%len(sentences)]
			tokens += int64(one(s))
			bytes += int64(len(s))
		}
		cpu := tokCPUSeconds() - cpu0
		sec := b.Elapsed().Seconds()
		b.ReportMetric(float64(tokens)/sec, "tokens/s")
		b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
		if cpu > 0 {
			// Tokens per second of process CPU time: the one-core rate even
			// when other processes share the cores (GC work included).
			b.ReportMetric(float64(tokens)/cpu, "tokens/cpu-s")
		}
	}
	b.Run("Tokenize", func(b *testing.B) {
		run(b, func(s string) int { return len(tok.Tokenize(s)) })
	})
	b.Run("AppendIDs", func(b *testing.B) {
		var ids []int32
		run(b, func(s string) int {
			ids = tok.AppendIDs(ids[:0], s)
			return len(ids)
		})
	})
	b.Run("EncodeTo128", func(b *testing.B) {
		var e wordpiece.Encoding
		run(b, func(s string) int {
			tok.EncodeTo(&e, s, "", false, 128)
			return e.Len() - 2
		})
	})
}
