package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/procstatus"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// bertShapes are the model shapes of ../shared/anchors/bert_torch.py.
var bertShapes = []struct {
	name                string
	layers, hidden, ff  int
	heads               int
	vocab, maxPositions int
}{
	{"base", 12, 768, 3072, 12, 30522, 512},
	{"tiny", 2, 128, 512, 2, 30522, 512},
}

// benchAdapterSize is the bottleneck of the adapters that the PyTorch
// anchor's model carries (two per layer, after the attention output and the
// feed-forward output, as Houlsby et al. place them), in inference too.
const benchAdapterSize = 64

// BenchmarkBERTInfer measures BERT inference (embeddings, encoder, pooler,
// 2-label head) at sequence length 128 with every token real, as the
// PyTorch anchor (`sh ../shared/anchors/run.sh torch SIZE infer THREADS`)
// does, for batch 1 and 8 and kernel threads 1 and 2. adapters=64 attaches
// Houlsby adapters of bottleneck 64 to every layer, as the anchor's model
// has them (the same work); adapters=0 runs the plain BERT. out=all computes every
// token's hidden state in every layer, as the anchor does; out=cls computes
// only the [CLS] rows in the last layer (bert.State.CLSOnly), which is all
// that the logits need. Weights are random
// (bert.NewRandom), written to a temporary checkpoint and memory-mapped back,
// so the model runs on the mapped file as it would on a real checkpoint, and
// the dense weights are packed for the kernels into a second mapped file
// (bert.Model.PackWeights), as petl eval and predict do, and the originals
// evicted from resident memory (bert.Checkpoint.Evict); PETL_BENCH_PACK=0
// runs without, packing them on every call; PETL_BENCH_PACK=heap packs
// them on the heap instead of a file. PETL_BENCH_PRECISION=int8 runs the
// frozen dense products in int8 instead (bert.Model.QuantizeWeights, into
// a mapped file, the float32 originals evicted), as --precision int8 does.
//
// Metrics: seq/s (sequences per second of wall time), seq/cpu-s (per second
// of process CPU time, all threads together: on a shared machine, where other
// processes take cores, it shows what the work itself costs), and after the run (and a garbage
// collection that returns freed memory to the OS) the process's resident
// memory split into file-backed pages (rss-file-MiB: the mapped weights,
// shared with the page cache) and anonymous pages (rss-anon-MiB), and the Go
// heap in use (heap-MiB: activations and bookkeeping, no weights). The arena
// of the run is dropped before measuring, so heap-MiB is the model's own
// footprint; State.Arena.Cap tells an arena's size.
func BenchmarkBERTInfer(b *testing.B) {
	for _, s := range bertShapes {
		b.Run(s.name, func(b *testing.B) {
			cfg := bert.Config{VocabSize: s.vocab, HiddenSize: s.hidden, NumLayers: s.layers, NumHeads: s.heads,
				IntermediateSize: s.ff, MaxPositions: s.maxPositions, TypeVocabSize: 2, HiddenAct: "gelu",
				LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
			m := mappedModel(b, cfg)
			for _, batch := range []int{1, 8} {
				for _, threads := range []int{1, 2} {
					for _, out := range []string{"all", "cls"} {
						for _, size := range []int{benchAdapterSize, 0} {
							b.Run(fmt.Sprintf("batch=%d/threads=%d/out=%s/adapters=%d", batch, threads, out, size), func(b *testing.B) {
								if size > 0 {
									set, err := adapter.Attach(m, adapter.Config{Size: size}, 1)
									if err != nil {
										b.Fatal(err)
									}
									for _, p := range set.Params() {
										p.SetTrainable(false, false) // inference: no gradient buffers, as petl predict loads them
									}
									defer adapter.Detach(m)
								}
								benchForward(b, m, batch, 128, threads, out == "cls")
							})
						}
					}
				}
			}
		})
	}
}

// mappedModel writes a randomly initialised model of cfg with a 2-label head
// to a temporary checkpoint and returns the model built over its mapping,
// its dense weights packed (or quantized) as inference runs them (see
// BenchmarkBERTInfer).
func mappedModel(b *testing.B, cfg bert.Config) *bert.Model {
	b.Helper()
	m, ck, dir := mappedBase(b, cfg)
	if os.Getenv("PETL_BENCH_PRECISION") == "int8" {
		st, err := m.QuantizeWeights(filepath.Join(dir, "int8.safetensors"), ck.Fingerprint())
		if err != nil {
			b.Fatal(err)
		}
		if err := ck.Evict(m.QuantizedWeights()...); err != nil {
			b.Fatal(err)
		}
		b.Logf("int8 weights: %d tensors, %.1f MiB in %s", st.Tensors, float64(st.Bytes)/(1<<20), st.Path)
		b.Cleanup(func() { m.Unquantize() })
		return m
	}
	if mode := os.Getenv("PETL_BENCH_PACK"); mode != "0" {
		path := filepath.Join(dir, "packed.safetensors")
		if mode == "heap" {
			path = ""
		}
		st, err := m.PackWeights(path, ck.Fingerprint())
		if err != nil {
			b.Fatal(err)
		}
		if err := ck.Evict(m.PackedWeights()...); err != nil {
			b.Fatal(err)
		}
		b.Logf("packed weights: %d tensors, %.1f MiB in %s", st.Tensors, float64(st.Bytes)/(1<<20), st.Path)
		b.Cleanup(func() { m.Unpack() })
	}
	return m
}

// mappedBase writes a randomly initialised model of cfg with a 2-label head
// to a temporary checkpoint and returns the model built over its mapping,
// as petl train loads a base (no packing: the backward pass reads the
// weights themselves), with the checkpoint and its folder.
func mappedBase(b *testing.B, cfg bert.Config) (*bert.Model, *bert.Checkpoint, string) {
	b.Helper()
	rnd, err := bert.NewRandom(cfg, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := bert.WriteCheckpoint(dir, cfg, rnd.Tensors()); err != nil {
		b.Fatal(err)
	}
	rnd = nil
	runtime.GC()
	ck, err := bert.OpenCheckpoint(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ck.Close() })
	if !ck.Weights().Mapped() {
		b.Fatalf("%s is not memory-mapped", dir)
	}
	m, err := bert.New(cfg, ck)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.LoadClassifier(ck, 2); err != nil {
		b.Fatal(err)
	}
	return m, ck, dir
}

func benchForward(b *testing.B, m *bert.Model, B, T, threads int, clsOnly bool) {
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(threads)
	rng := nn.NewRNG(uint64(B))
	batch := &bert.Batch{B: B, T: T, IDs: make([]int32, B*T), TypeIDs: make([]int32, B*T), Mask: make([]float32, B*T), Lens: make([]int, B)}
	for i := range batch.IDs {
		batch.IDs[i] = int32(rng.Uint64() % uint64(m.Config.VocabSize))
		batch.Mask[i] = 1
	}
	for i := range batch.Lens {
		batch.Lens[i] = T
	}
	st := &bert.State{CLSOnly: clsOnly}
	for range 2 { // the first pass measures the arena, the second allocates it
		if err := m.Forward(st, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := tokCPUSeconds()
	for i := 0; i < b.N; i++ {
		if err := m.Forward(st, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "seq/s")
	if cpu := tokCPUSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(float64(B*b.N)/cpu, "seq/cpu-s")
	}
	b.ReportMetric(0, "ns/op")
	// Memory after a collection that returns freed pages to the OS, so that
	// the figures are what the model and its arena hold, not garbage of the
	// set-up (the random model that was written out).
	st = nil
	debug.FreeOSMemory()
	anon, file := rssMiB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(anon, "rss-anon-MiB")
	b.ReportMetric(file, "rss-file-MiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// rssMiB returns the process's resident anonymous and file-backed memory in
// MiB from /proc/self/status (0, 0 where it cannot be read).
func rssMiB() (anon, file float64) {
	return procstatus.MiB("RssAnon"), procstatus.MiB("RssFile")
}
