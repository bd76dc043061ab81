package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/procstatus"
)

// BenchmarkTaskMemory measures what each task costs a process that serves
// many: a BERT base (random weights written as a checkpoint, opened with
// petl.Open: mapped read-only, packed into a mapped file) with 1, 10 and 50
// tasks loaded through the front door, each a size-64 Houlsby adapter with
// its layer norms and head (one adapter file loaded under N names, so every
// task holds its own copy). Metrics, after a garbage collection that
// returns freed memory to the OS: heap-MiB/task (the Go heap's growth per
// task), trained-MiB/task (the task's trained parameters as float32),
// ratio (the two divided: the goal is at most 1.1), and the process's
// resident memory, file-backed (the mapped weights, shared by every task
// and every process) and anonymous. full-copies-GiB is what the same tasks
// cost as fully fine-tuned models, one copy of every parameter each.
//
//	go test -run '^$' -bench TaskMemory -benchtime 1x ./benchmarks
func BenchmarkTaskMemory(b *testing.B) {
	for _, s := range bertShapes {
		b.Run(s.name, func(b *testing.B) {
			cfg := bert.Config{VocabSize: s.vocab, HiddenSize: s.hidden, NumLayers: s.layers, NumHeads: s.heads,
				IntermediateSize: s.ff, MaxPositions: s.maxPositions, TypeVocabSize: 2, HiddenAct: "gelu",
				LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
			dir := b.TempDir()
			rnd, err := bert.NewRandom(cfg, 0, 1)
			if err != nil {
				b.Fatal(err)
			}
			if err := bert.WriteCheckpoint(dir, cfg, rnd.Tensors()); err != nil {
				b.Fatal(err)
			}
			rnd = nil
			adapterPath := filepath.Join(dir, "task")
			trained, baseParams := writeBenchAdapter(b, dir, adapterPath)
			for _, n := range []int{1, 10, 50} {
				b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						base, err := petl.Open(dir, petl.Options{Vocab: filepath.Join(dir, "vocab.txt"), Pack: filepath.Join(dir, "packed.safetensors")})
						if err != nil {
							b.Fatal(err)
						}
						before := heapInUse()
						for t := 0; t < n; t++ {
							if _, err := base.Load(fmt.Sprintf("task%d", t), adapterPath); err != nil {
								b.Fatal(err)
							}
						}
						after := heapInUse()
						perTask := (after - before) / float64(n)
						trainedMiB := float64(trained) * 4 / (1 << 20)
						b.ReportMetric(perTask, "heap-MiB/task")
						b.ReportMetric(trainedMiB, "trained-MiB/task")
						b.ReportMetric(perTask/trainedMiB, "ratio")
						b.ReportMetric(procstatus.MiB("RssFile"), "rss-file-MiB")
						b.ReportMetric(procstatus.MiB("RssAnon"), "rss-anon-MiB")
						b.ReportMetric(float64(n)*float64(baseParams+trained)*4/(1<<30), "full-copies-GiB")
						b.ReportMetric(0, "ns/op")
						runtime.KeepAlive(base)
						base.Close()
					}
				})
			}
		})
	}
}

// heapInUse is the Go heap in use, in MiB, after a collection.
func heapInUse() float64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// writeBenchAdapter writes a size-64 Houlsby adapter (an SST-2 head) for
// the checkpoint in dir at path, and a vocabulary for petl.Open, and
// returns the trained and the base parameter counts.
func writeBenchAdapter(b *testing.B, dir, path string) (trained, base int) {
	b.Helper()
	writeBenchVocab(b, filepath.Join(dir, "vocab.txt"), 30522)
	fd, err := petl.Open(dir, petl.Options{Pack: "off"})
	if err != nil {
		b.Fatal(err)
	}
	defer fd.Close()
	m := fd.NewModel()
	m.InitClassifier(2, 1)
	s, err := adapter.Prepare(m, adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: benchAdapterSize}}, 1)
	if err != nil {
		b.Fatal(err)
	}
	c := adapter.FileConfig{Task: "sst2", TaskName: "SST-2", Labels: []string{"0", "1"}, MaxLen: 128, Lowercase: true,
		Base: fd.Identity(), TrainedParams: s.Trained, BaseParams: s.Base}
	c.SetPlan(s.Plan)
	if err := adapter.Save(path, c, s.Trainable); err != nil {
		b.Fatal(err)
	}
	return s.Trained, s.Base
}

// writeBenchVocab writes a vocabulary of n tokens: the specials, then
// made-up word pieces.
func writeBenchVocab(b *testing.B, path string, n int) {
	b.Helper()
	toks := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	for i := len(toks); i < n; i++ {
		toks = append(toks, fmt.Sprintf("w%d", i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(toks, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
}
