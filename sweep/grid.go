// Package sweep runs the experiment of Houlsby et al. 2019 (Table 1,
// Figures 1 and 3) on one base model: every task trained with every method
// over a small grid of learning rates, the best setting of each chosen on
// dev, and the results written as a table and a figure.
//
// A sweep is three steps that any scheduler can drive: plan (WritePlan:
// the settings and the grid's runs, numbered, in the sweep's folder), run
// one (Runner.RunOne: run number I, its outcome written atomically as its
// own file, a finished run skipped, a stopped one resumed from its
// training checkpoint) and collect (Gather, then the tables and figures
// from whatever has finished). A local sweep (Runner.Run) is the plan's
// runs on a few workers; a Slurm job array or a Kubernetes Indexed Job
// (WriteSlurm, WriteKubernetes) runs the same plan on a cluster.
//
// The collected outcomes go to a JSON-lines file, one line per finished
// run, so that runs done elsewhere (another machine, another process) can
// be merged by concatenating files.
package sweep

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/petl-go/petl/adapter"
)

// Method is one training method of the sweep: a row of the table.
type Method struct {
	// Name is the method's key: "full", "adapter-N", "top-K" or
	// "ln-head", with the suffix "-random" on a random base.
	Name string
	// Plan says which parameters train.
	Plan adapter.Plan
	// RandomBase trains on a randomly initialised copy of the base's
	// architecture instead of the base (the baseline that shows what
	// pretraining is worth).
	RandomBase bool
	// LRs is the grid of peak learning rates tried.
	LRs []float64
}

// Label is the method's name in tables and figures.
func (m Method) Label() string {
	if m.RandomBase {
		return Method{Name: strings.TrimSuffix(m.Name, "-random"), Plan: m.Plan}.Label() + ", random init"
	}
	switch {
	case m.Plan.Method == adapter.MethodFull:
		return "full fine-tuning"
	case m.Plan.Method == adapter.MethodAdapter:
		return fmt.Sprintf("adapters (%d)", m.Plan.Adapter.Size)
	case m.Plan.Method == adapter.MethodTopK:
		return fmt.Sprintf("top %d layer(s)", m.Plan.TopK)
	case m.Plan.Method == adapter.MethodLNHead:
		return "layer norms + head"
	}
	return m.Name
}

// Default learning-rate grids per method family, chosen for BERT-tiny-sized
// models: whole-layer fine-tuning wants a smaller step than the small
// adapter and layer-norm parameter sets (which start near the identity or
// at their pretrained values and move little per step).
var (
	DefaultFullLRs    = []float64{1e-4, 5e-4}
	DefaultAdapterLRs = []float64{1e-3, 5e-3}
	DefaultLNHeadLRs  = []float64{1e-3, 1e-2}
)

// DefaultMethods is the paper's comparison for a base of numLayers layers:
// full fine-tuning, adapters of size 8, 64 and 256, the top half of the
// layers (at least one), and layer norms plus head; and, to show what the
// pretraining is worth, full fine-tuning and adapters of size 64 on a
// randomly initialised base.
func DefaultMethods(numLayers int) []string {
	k := max(1, numLayers/2)
	return []string{"full-random", "full", "adapter-8", "adapter-64", "adapter-256", "top-" + strconv.Itoa(k), "ln-head", "adapter-64-random"}
}

// ParseMethod reads a method key (see Method.Name) for a base of numLayers
// layers and gives it its default learning rates. Any key with the suffix
// "-random" (for example "adapter-64-random") is that method on a randomly
// initialised base.
func ParseMethod(name string, numLayers int) (Method, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if base, ok := strings.CutSuffix(key, "-random"); ok && base != "" {
		m, err := ParseMethod(base, numLayers)
		if err != nil {
			return Method{}, err
		}
		m.Name, m.RandomBase = key, true
		return m, nil
	}
	m := Method{Name: key}
	switch {
	case key == "full":
		m.Plan, m.LRs = adapter.Plan{Method: adapter.MethodFull}, DefaultFullLRs
	case key == "ln-head":
		m.Plan, m.LRs = adapter.Plan{Method: adapter.MethodLNHead}, DefaultLNHeadLRs
	case strings.HasPrefix(key, "adapter-"):
		n, err := strconv.Atoi(strings.TrimPrefix(key, "adapter-"))
		if err != nil || n <= 0 {
			return Method{}, fmt.Errorf("sweep: method %q: want adapter-N with a positive size N", name)
		}
		m.Plan = adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: n}}
		m.LRs = DefaultAdapterLRs
	case strings.HasPrefix(key, "top-"):
		k, err := strconv.Atoi(strings.TrimPrefix(key, "top-"))
		if err != nil || k < 0 || k > numLayers {
			return Method{}, fmt.Errorf("sweep: method %q: want top-K with K in 0..%d (the base has %d layers)", name, numLayers, numLayers)
		}
		m.Plan, m.LRs = adapter.Plan{Method: adapter.MethodTopK, TopK: k}, DefaultFullLRs
	default:
		return Method{}, fmt.Errorf("sweep: unknown method %q (want full, full-random, adapter-N, top-K or ln-head)", name)
	}
	if err := m.Plan.Validate(numLayers); err != nil {
		return Method{}, fmt.Errorf("sweep: method %q: %w", name, err)
	}
	return m, nil
}

// Run is one training run of the sweep: its identity in the results file.
type Run struct {
	Task   string  `json:"task"`   // task key ("sst2")
	Method string  `json:"method"` // Method.Name
	LR     float64 `json:"lr"`     // peak learning rate
	Epochs int     `json:"epochs"` // epochs trained (dev evaluated after each)
	Limit  int     `json:"limit"`  // training examples used: the first Limit (0: all)
	Seed   uint64  `json:"seed"`
}

// Key identifies the run in a results file.
func (r Run) Key() string {
	return fmt.Sprintf("%s/%s/lr=%s/epochs=%d/limit=%d/seed=%d", r.Task, r.Method, strconv.FormatFloat(r.LR, 'g', -1, 64), r.Epochs, r.Limit, r.Seed)
}

// Grid is the whole experiment.
type Grid struct {
	Tasks   []string       // task keys
	Methods []Method       // rows
	Epochs  map[string]int // epochs per task key; tasks not listed use DefaultEpochs
	Limits  map[string]int // training examples per task key (first N); absent or 0: all
	// Seeds: every setting is trained once per seed (the seed sets the
	// head and adapter initialisation, the example order, dropout and, on
	// a random base, its weights); the table reports the mean over seeds.
	// Empty: seed 0 alone.
	Seeds []uint64
}

// DefaultEpochs is the number of epochs of a task not listed in
// Grid.Epochs.
const DefaultEpochs = 3

// EpochsFor returns the epochs of task key t.
func (g Grid) EpochsFor(t string) int {
	if e, ok := g.Epochs[t]; ok && e > 0 {
		return e
	}
	return DefaultEpochs
}

// SeedList is g.Seeds, or seed 0 alone when it is empty.
func (g Grid) SeedList() []uint64 {
	if len(g.Seeds) == 0 {
		return []uint64{0}
	}
	return g.Seeds
}

// Runs lists every run of the grid: seeds in order (so that the first
// seed's table is complete first), then tasks, methods and learning rates.
func (g Grid) Runs() []Run {
	var runs []Run
	for _, seed := range g.SeedList() {
		for _, t := range g.Tasks {
			for _, m := range g.Methods {
				for _, lr := range m.LRs {
					runs = append(runs, g.run(t, m.Name, lr, seed))
				}
			}
		}
	}
	return runs
}

// run is the grid's run of task t, method, lr and seed.
func (g Grid) run(t, method string, lr float64, seed uint64) Run {
	return Run{Task: t, Method: method, LR: lr, Epochs: g.EpochsFor(t), Limit: g.Limits[t], Seed: seed}
}

// Method returns the grid's method named name.
func (g Grid) Method(name string) (Method, bool) {
	for _, m := range g.Methods {
		if m.Name == name {
			return m, true
		}
	}
	return Method{}, false
}

// ParseIntMap reads "key=N,key=N" (for example "sst2=2,rte=10") into a
// map; keys are lower-cased and must be in known (when known is not nil).
func ParseIntMap(s string, known []string) (map[string]int, error) {
	out := map[string]int{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, fmt.Errorf("sweep: %q: want key=N", part)
		}
		if known != nil && !contains(known, k) {
			return nil, fmt.Errorf("sweep: %q: unknown key %q (want one of %s)", part, k, strings.Join(known, ", "))
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("sweep: %q: want a non-negative integer after =", part)
		}
		out[k] = n
	}
	return out, nil
}

// ParseFloats reads a comma-separated list of positive numbers.
func ParseFloats(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("sweep: %q: want positive numbers separated by commas", s)
		}
		out = append(out, v)
	}
	sort.Float64s(out)
	return out, nil
}

// ParseSeeds reads a comma-separated list of distinct seeds ("1,2,3"), in
// the order given.
func ParseSeeds(s string) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sweep: %q is not a seed (want non-negative integers, e.g. 1,2,3)", f)
		}
		if seen[v] {
			return nil, fmt.Errorf("sweep: seed %d given twice", v)
		}
		seen[v] = true
		out = append(out, v)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
