package benchmarks

import (
	"fmt"
	"testing"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/wordpiece"
)

// mixedTaskLens are the lengths of the sequences of the mixed-task
// benchmark, per task, after GLUE: short single sentences (SST-2, CoLA),
// sentence pairs (MRPC, QQP, MNLI) and long pairs (RTE), 10 to 128
// tokens; 32 sequences, 1450 tokens (2015 when each task's batch is padded
// to its longest).
var mixedTaskLens = [][]int{
	{14, 22, 31, 10, 18, 27}, // SST-2-like
	{11, 10, 15, 12, 19},     // CoLA-like
	{52, 61, 47, 70, 58},     // MRPC-like
	{30, 41, 26, 35, 64, 29}, // QQP-like
	{44, 39, 72, 55, 38},     // MNLI-like
	{128, 96, 74, 117, 85},   // RTE-like
}

// BenchmarkMixedForward measures serving a window of requests of several
// tasks on one frozen base: 32 sequences of 6 tasks (mixedTaskLens), each
// task a View of the base with Houlsby adapters of bottleneck 64, layer
// norms of its own (as adapter training leaves them) and a head of 2 to 4
// labels, the base's weights mapped and packed as in BenchmarkBERTInfer
// (PETL_BENCH_PACK applies). mode=mixed runs them as one bert.MixedBatch
// (sequences packed without padding, one group per task) through
// ForwardMixed; mode=padded runs one batch per task, padded to its longest
// sequence, through Forward with State.CLSOnly, as a server without mixed
// batches would. Both compute only the [CLS] rows in the last layer and
// give the same logits.
//
// Metrics: seq/s and tok/s (real tokens, padding not counted) of wall
// time, seq/cpu-s per second of process CPU time (all threads).
func BenchmarkMixedForward(b *testing.B) {
	for _, s := range bertShapes {
		b.Run(s.name, func(b *testing.B) {
			cfg := bert.Config{VocabSize: s.vocab, HiddenSize: s.hidden, NumLayers: s.layers, NumHeads: s.heads,
				IntermediateSize: s.ff, MaxPositions: s.maxPositions, TypeVocabSize: 2, HiddenAct: "gelu",
				LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
			base := mappedModel(b, cfg)
			tasks := mixedTaskModels(b, base)
			mixed, padded := mixedTaskBatches(cfg, tasks)
			for _, threads := range []int{1, 2} {
				for _, mode := range []string{"mixed", "padded"} {
					b.Run(fmt.Sprintf("threads=%d/mode=%s", threads, mode), func(b *testing.B) {
						defer kernels.SetThreads(kernels.Threads())
						kernels.SetThreads(threads)
						run := func() {}
						switch mode {
						case "mixed":
							st := &bert.MixedState{}
							run = func() {
								if err := base.ForwardMixed(st, mixed); err != nil {
									b.Fatal(err)
								}
							}
						case "padded":
							sts := make([]*bert.State, len(tasks))
							for i := range sts {
								sts[i] = &bert.State{CLSOnly: true}
							}
							run = func() {
								for i, t := range tasks {
									if err := t.Forward(sts[i], padded[i]); err != nil {
										b.Fatal(err)
									}
								}
							}
						}
						run() // sizes the arenas
						run()
						b.ReportAllocs()
						b.ResetTimer()
						cpu0 := tokCPUSeconds()
						for i := 0; i < b.N; i++ {
							run()
						}
						b.StopTimer()
						B, N := len(mixed.Lens), len(mixed.IDs)
						b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "seq/s")
						b.ReportMetric(float64(N*b.N)/b.Elapsed().Seconds(), "tok/s")
						if cpu := tokCPUSeconds() - cpu0; cpu > 0 {
							b.ReportMetric(float64(B*b.N)/cpu, "seq/cpu-s")
						}
						b.ReportMetric(0, "ns/op")
					})
				}
			}
		})
	}
}

// mixedTaskModels makes one task per entry of mixedTaskLens: a View of
// base with frozen Houlsby adapters (bottleneck benchAdapterSize), layer
// norms of its own (the base's values, copied) and a head.
func mixedTaskModels(b *testing.B, base *bert.Model) []*bert.Model {
	b.Helper()
	var tasks []*bert.Model
	for i := range mixedTaskLens {
		v := base.View()
		set, err := adapter.Attach(v, adapter.Config{Size: benchAdapterSize}, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range set.Params() {
			p.SetTrainable(false, false)
		}
		norms := []*nn.Param{v.Embeddings.LN.Gamma, v.Embeddings.LN.Beta}
		for l := range v.Layers {
			L := &v.Layers[l]
			norms = append(norms, L.AttnLN.Gamma, L.AttnLN.Beta, L.FFLN.Gamma, L.FFLN.Beta)
		}
		for _, p := range norms { // a copy of its own, as a loaded task has
			v.SetTrainable(p, true)
			p.SetTrainable(false, false)
		}
		v.InitClassifier(2+i%3, uint64(100+i))
		tasks = append(tasks, v)
	}
	return tasks
}

// mixedTaskBatches returns the benchmark's sequences (random ids, the
// second half of each a second segment) as one mixed batch grouped by task,
// and as one padded batch per task.
func mixedTaskBatches(cfg bert.Config, tasks []*bert.Model) (*bert.MixedBatch, []*bert.Batch) {
	rng := nn.NewRNG(42)
	mixed := &bert.MixedBatch{}
	var padded []*bert.Batch
	for i, lens := range mixedTaskLens {
		var encs []wordpiece.Encoding
		for _, n := range lens {
			e := wordpiece.Encoding{IDs: make([]int32, n), TypeIDs: make([]int32, n)}
			for t := range n {
				e.IDs[t] = int32(1 + rng.Uint64()%uint64(cfg.VocabSize-1))
				if t > n/2 {
					e.TypeIDs[t] = 1
				}
			}
			encs = append(encs, e)
			mixed.IDs = append(mixed.IDs, e.IDs...)
			mixed.TypeIDs = append(mixed.TypeIDs, e.TypeIDs...)
			mixed.Lens = append(mixed.Lens, n)
		}
		mixed.Groups = append(mixed.Groups, bert.Group{Model: tasks[i], Seqs: len(lens)})
		padded = append(padded, bert.NewBatch(encs, 0, 0))
	}
	return mixed, padded
}
