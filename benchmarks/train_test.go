package benchmarks

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/procstatus"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/optim"
)

// BenchmarkTrainStep measures one training step (forward, cross-entropy,
// backward, gradient clipping, AdamW) at batch 8 and sequence length 128, as
// the PyTorch anchor (`sh ../shared/anchors/run.sh torch SIZE MODE THREADS`,
// MODE adapter or full) does, on the base and tiny shapes, with kernel threads
// 1 and 2. mode=adapter trains Houlsby adapters of size 64, every layer norm
// and the head over a frozen, memory-mapped base; mode=full trains
// everything (the base weights are then copied to the heap, as they must be).
// The step does somewhat more than the anchor's (dropout 0.1, the pooler, the
// token-type embedding lookup, clipping), never less.
//
// Metrics: ms/step (wall), ms/cpu-step (process CPU time per step, all
// threads: on a shared machine it shows what the work itself costs), and
// peak-rss-MiB, the process's peak resident memory during the measured steps
// (its high-water mark is reset after set-up through /proc/self/clear_refs,
// so the random model written out to make the checkpoint is not counted;
// the mapped weights are); warmup-peak-rss-MiB, the same over the two
// warm-up steps that size the arenas (what a training run's first steps
// add to the steady state); arena-MiB and scratch-MiB, the sizes of the
// bert.State's two arenas (the activations kept for backward, and what a
// layer needs only while it runs). Run one mode per process
// (compare-train.sh does) for the peak to be that mode's alone.
//
// With PETL_TRAIN_CLS_ONLY=1 the last layer computes only the [CLS] rows
// (bert.State.CLSOnly: the same gradients, less work and memory); the
// default computes every row, as the anchor does. PETL_TRAIN_DROPOUT sets
// the dropout probability (default 0.1, as in training); the anchor has no
// dropout, so PETL_TRAIN_DROPOUT=0 measures the same work as it does.
func BenchmarkTrainStep(b *testing.B) {
	drop := float32(0.1)
	if v := os.Getenv("PETL_TRAIN_DROPOUT"); v != "" {
		p, err := strconv.ParseFloat(v, 32)
		if err != nil || p < 0 || p >= 1 {
			b.Fatalf("PETL_TRAIN_DROPOUT=%q: want a probability in [0, 1)", v)
		}
		drop = float32(p)
	}
	for _, s := range bertShapes {
		b.Run(s.name, func(b *testing.B) {
			for _, mode := range []string{"adapter", "full"} {
				b.Run("mode="+mode, func(b *testing.B) {
					cfg := bert.Config{VocabSize: s.vocab, HiddenSize: s.hidden, NumLayers: s.layers, NumHeads: s.heads,
						IntermediateSize: s.ff, MaxPositions: s.maxPositions, TypeVocabSize: 2, HiddenAct: "gelu",
						LayerNormEps: 1e-12, HiddenDropout: drop, AttentionDropout: drop, InitializerRange: 0.02}
					m, _, _ := mappedBase(b, cfg) // as petl train loads it
					plan := adapter.Plan{Method: adapter.MethodFull}
					if mode == "adapter" {
						plan = adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 64}}
					}
					setup, err := adapter.Prepare(m, plan, 1)
					if err != nil {
						b.Fatal(err)
					}
					b.Log(setup.Summary())
					for _, threads := range []int{1, 2} {
						b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
							benchTrainStep(b, m, setup, 8, 128, threads)
						})
					}
				})
			}
		})
	}
}

func benchTrainStep(b *testing.B, m *bert.Model, setup *adapter.Setup, B, T, threads int) {
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(threads)
	opt, err := optim.NewAdamW(setup.Trainable, optim.DefaultAdamW())
	if err != nil {
		b.Fatal(err)
	}
	rng := nn.NewRNG(uint64(B))
	batch := &bert.Batch{B: B, T: T, IDs: make([]int32, B*T), TypeIDs: make([]int32, B*T), Mask: make([]float32, B*T), Lens: make([]int, B)}
	for i := range batch.IDs {
		batch.IDs[i] = int32(rng.Uint64() % uint64(m.Config.VocabSize))
		batch.Mask[i] = 1
	}
	labels := make([]int32, B)
	for i := range labels {
		labels[i] = int32(rng.Uint64() % 2)
		batch.Lens[i] = T
	}
	L := m.NumLabels()
	probs, dlogits := make([]float32, B*L), make([]float32, B*L)
	st := &bert.State{Train: true, CLSOnly: os.Getenv("PETL_TRAIN_CLS_ONLY") == "1"}
	step := func() {
		if err := m.Forward(st, batch); err != nil {
			b.Fatal(err)
		}
		opt.ZeroGrad()
		nn.CrossEntropy{}.Forward(probs, st.Logits, labels, B, L)
		clear(dlogits)
		nn.CrossEntropy{}.Backward(dlogits, probs, labels, B, L, 1)
		if err := m.Backward(st, dlogits); err != nil {
			b.Fatal(err)
		}
		if _, err := optim.ClipGradNorm(setup.Trainable, 1); err != nil {
			b.Fatal(err)
		}
		opt.Step(1e-5)
	}
	debug.FreeOSMemory()
	resetPeakRSS()
	step() // sizes the arena
	step() // runs on it
	warm := peakRSSMiB()
	debug.FreeOSMemory()
	resetPeakRSS()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := tokCPUSeconds()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.StopTimer()
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/step")
	if cpu := tokCPUSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(cpu*1e3/float64(b.N), "ms/cpu-step")
	}
	b.ReportMetric(0, "ns/op")
	if peak := peakRSSMiB(); peak > 0 {
		b.ReportMetric(peak, "peak-rss-MiB")
		b.ReportMetric(warm, "warmup-peak-rss-MiB")
	}
	b.ReportMetric(float64(st.Arena.Cap())*4/(1<<20), "arena-MiB")
	b.ReportMetric(float64(st.Scratch.Cap())*4/(1<<20), "scratch-MiB")
}

// resetPeakRSS resets the process's resident-memory high-water mark (Linux
// 4.0 and later; elsewhere it does nothing).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMiB returns VmHWM from /proc/self/status in MiB (0 where it cannot
// be read).
func peakRSSMiB() float64 {
	return procstatus.MiB("VmHWM")
}
