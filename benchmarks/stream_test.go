package benchmarks

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// streamRequest is one request of ../shared/anchors/requests-glue.tsv:
// its task and its reference tokenisation.
type streamRequest struct {
	task    string
	enc     wordpiece.Encoding
	segment int // length of the first segment, [CLS] and [SEP] included
}

// readStream reads the first limit requests of the mixed-task stream.
func readStream(b *testing.B, limit int) []streamRequest {
	b.Helper()
	path := sharedtest.Path(b, "anchors", "requests-glue.tsv")
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var reqs []streamRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && len(reqs) < limit {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Split(line, "\t")
		seg, err := strconv.Atoi(fs[1])
		if err != nil {
			b.Fatalf("%s: %q: %v", path, line[:min(len(line), 40)], err)
		}
		var r streamRequest
		r.task, r.segment = fs[0], seg
		for i, w := range strings.Fields(fs[2]) {
			id, err := strconv.Atoi(w)
			if err != nil {
				b.Fatal(err)
			}
			typ := int32(0)
			if i >= seg {
				typ = 1
			}
			r.enc.IDs = append(r.enc.IDs, int32(id))
			r.enc.TypeIDs = append(r.enc.TypeIDs, typ)
		}
		reqs = append(reqs, r)
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return reqs
}

// streamTasks makes one view of m per task of the stream, each with its own
// Houlsby adapters of the anchor's bottleneck (frozen, as a server loads
// them) and a head of the task's labels.
func streamTasks(b *testing.B, m *bert.Model, names []string) map[string]*bert.Model {
	b.Helper()
	views := map[string]*bert.Model{}
	for i, name := range names {
		spec, err := task.Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		v := m.View()
		v.InitClassifier(spec.NumLabels(), uint64(i+1))
		set, err := adapter.Attach(v, adapter.Config{Size: benchAdapterSize}, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range append(set.Params(), v.Classifier.Params()...) {
			p.SetTrainable(false, false)
		}
		views[name] = v
	}
	return views
}

// BenchmarkStream serves the first $PETL_STREAM_LIMIT (default 512)
// requests of the mixed-task GLUE stream (../shared/anchors/
// requests-glue.tsv: six tasks interleaved, reference token ids) the way
// `../shared/anchors/run.sh torch SIZE stream THREADS` does: arrivals in
// windows of 32, on one base with six tasks, each with its own adapters
// (bottleneck 64) and head. Modes:
//
//   - padded: as the anchor (and AdapterHub/PEFT users): in each window, one
//     batch per task padded to its longest, every token's output computed.
//   - padded-cls: the same batches, the last layer on the [CLS] rows only.
//   - mixed: each window is one pass over all its requests, packed without
//     padding (bert.Model.ForwardMixed), the last layer on [CLS] rows only:
//     what petl serve runs.
//
// One iteration serves the whole stream, after a warm-up on its first four
// windows (as the anchor); run it with -benchtime 1x.
// Metrics: requests/s and real tokens/s (padding not counted).
func BenchmarkStream(b *testing.B) {
	limit := 512
	if s := os.Getenv("PETL_STREAM_LIMIT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("PETL_STREAM_LIMIT=%q: want a positive number", s)
		}
		limit = n
	}
	const window = 32
	reqs := readStream(b, limit)
	var names []string
	tokens := 0
	for _, r := range reqs {
		if !slices.Contains(names, r.task) {
			names = append(names, r.task)
		}
		tokens += r.enc.Len()
	}
	slices.Sort(names)
	for _, s := range bertShapes {
		b.Run(s.name, func(b *testing.B) {
			cfg := bert.Config{VocabSize: s.vocab, HiddenSize: s.hidden, NumLayers: s.layers, NumHeads: s.heads,
				IntermediateSize: s.ff, MaxPositions: s.maxPositions, TypeVocabSize: 2, HiddenAct: "gelu",
				LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
			m := mappedModel(b, cfg)
			views := streamTasks(b, m, names)
			for _, threads := range []int{1, 2} {
				for _, mode := range []string{"mixed", "padded", "padded-cls"} {
					b.Run(fmt.Sprintf("threads=%d/mode=%s", threads, mode), func(b *testing.B) {
						defer kernels.SetThreads(kernels.Threads())
						kernels.SetThreads(threads)
						serve := streamServer(b, m, views, reqs, window, mode)
						warm := streamServer(b, m, views, reqs[:min(len(reqs), 4*window)], window, mode)
						warm() // warm-up on the first windows, as the anchor
						b.ResetTimer()
						start := time.Now()
						for i := 0; i < b.N; i++ {
							serve()
						}
						sec := time.Since(start).Seconds() / float64(b.N)
						b.ReportMetric(float64(len(reqs))/sec, "requests/s")
						b.ReportMetric(float64(tokens)/sec, "tokens/s")
						b.ReportMetric(0, "ns/op")
					})
				}
			}
		})
	}
}

// streamServer returns a function that serves every window of reqs once in
// the given mode, with the batches built beforehand (the anchor builds its
// tensors before timing too).
func streamServer(b *testing.B, m *bert.Model, views map[string]*bert.Model, reqs []streamRequest, window int, mode string) func() {
	b.Helper()
	var mixed []*bert.MixedBatch
	type taskBatch struct {
		model *bert.Model
		batch *bert.Batch
	}
	var padded [][]taskBatch
	for w := 0; w < len(reqs); w += window {
		win := reqs[w:min(w+window, len(reqs))]
		var order []string // tasks in order of first arrival, as the anchor groups them
		byTask := map[string][]wordpiece.Encoding{}
		for _, r := range win {
			if _, ok := byTask[r.task]; !ok {
				order = append(order, r.task)
			}
			byTask[r.task] = append(byTask[r.task], r.enc)
		}
		if mode == "mixed" {
			mb := &bert.MixedBatch{}
			for _, t := range order {
				for _, e := range byTask[t] {
					mb.IDs = append(mb.IDs, e.IDs...)
					mb.TypeIDs = append(mb.TypeIDs, e.TypeIDs...)
					mb.Lens = append(mb.Lens, e.Len())
				}
				mb.Groups = append(mb.Groups, bert.Group{Model: views[t], Seqs: len(byTask[t])})
			}
			mixed = append(mixed, mb)
			continue
		}
		var tbs []taskBatch
		for _, t := range order {
			tbs = append(tbs, taskBatch{views[t], bert.NewBatch(byTask[t], 0, 0)})
		}
		padded = append(padded, tbs)
	}
	if mode == "mixed" {
		var st bert.MixedState
		return func() {
			for _, mb := range mixed {
				if err := m.ForwardMixed(&st, mb); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	st := bert.State{CLSOnly: mode == "padded-cls"}
	return func() {
		for _, tbs := range padded {
			for _, tb := range tbs {
				if err := tb.model.Forward(&st, tb.batch); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
