package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/petl-go/petl/internal/safefile"
)

// A sweep's folder, as the three steps (plan, run one, collect) share it:
//
//	DIR/runs/plan.json               the plan: settings and numbered runs
//	DIR/runs/NNNN.json               run NNNN's outcome, written atomically when it ends
//	DIR/runs/NNNN.ckpt.safetensors   run NNNN's checkpoint while it trains
//	DIR/results.jsonl                every outcome, one per line (collect)
//	DIR/results.md, DIR/figure*.svg  the tables and figures (collect)
const (
	RunsDir  = "runs"      // the folder of the plan and of each run's files
	PlanName = "plan.json" // the plan, in RunsDir
)

// Size limits of the files of RunsDir, read whole: a plan's line per run
// is about 150 bytes, an outcome a few hundred.
const (
	maxPlan    = 64 << 20
	maxOutcome = safefile.MaxJSON
)

// PlanFormat and PlanVersion identify a plan file.
const (
	PlanFormat  = "petl-sweep-plan"
	PlanVersion = 1
)

// Plan is a sweep written down before any run: everything a run needs, so
// that "run number I" means the same training on any machine that reads
// it, and the runs numbered from 0 in the order of Grid.Runs.
type Plan struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Base is the base model as the command line gave it (paths absolute,
	// so that any node resolves them the same way).
	Base PlanBase `json:"base"`
	// Data is the GLUE data folder (absolute).
	Data            string         `json:"data"`
	Batch           int            `json:"batch"`
	MaxLen          int            `json:"max_len"`
	CheckpointEvery int            `json:"checkpoint_every,omitempty"` // steps between checkpoints besides each epoch's end (0: none)
	Tasks           []string       `json:"tasks"`
	Methods         []PlanMethod   `json:"methods"`
	Epochs          map[string]int `json:"epochs"`
	Limits          map[string]int `json:"limits,omitempty"`
	Seeds           []uint64       `json:"seeds"`
	// Runs are Grid().Runs(), numbered by their position.
	Runs []Run `json:"-"`
}

// PlanBase names the base model of a plan.
type PlanBase struct {
	Model     string `json:"model"`           // checkpoint folder or a built-in name; "" the built-in default
	Vocab     string `json:"vocab,omitempty"` // vocabulary file; "" the model's
	Lowercase string `json:"lowercase"`       // auto, true or false
	Title     string `json:"title"`           // the model's name in the report
}

// PlanMethod is a method of a plan with its learning rates.
type PlanMethod struct {
	Name string    `json:"name"`
	LRs  []float64 `json:"lrs"`
}

// NewPlan writes down grid g with the settings in p (whose Tasks, Methods,
// Epochs, Limits, Seeds and Runs it fills in).
func NewPlan(g Grid, p Plan) Plan {
	p.Format, p.Version = PlanFormat, PlanVersion
	p.Tasks = append([]string(nil), g.Tasks...)
	p.Methods = nil
	for _, m := range g.Methods {
		p.Methods = append(p.Methods, PlanMethod{Name: m.Name, LRs: append([]float64(nil), m.LRs...)})
	}
	p.Epochs = map[string]int{}
	for _, t := range g.Tasks {
		p.Epochs[t] = g.EpochsFor(t)
	}
	p.Limits = nil
	for t, n := range g.Limits {
		if n > 0 {
			if p.Limits == nil {
				p.Limits = map[string]int{}
			}
			p.Limits[t] = n
		}
	}
	p.Seeds = append([]uint64(nil), g.SeedList()...)
	p.Runs = g.Runs()
	return p
}

// Grid rebuilds the plan's grid for a base of numLayers layers, and checks
// that its runs are the plan's, in the same order.
func (p Plan) Grid(numLayers int) (Grid, error) {
	g := Grid{Tasks: p.Tasks, Epochs: p.Epochs, Limits: p.Limits, Seeds: p.Seeds}
	if g.Limits == nil {
		g.Limits = map[string]int{}
	}
	for _, pm := range p.Methods {
		m, err := ParseMethod(pm.Name, numLayers)
		if err != nil {
			return Grid{}, err
		}
		if len(pm.LRs) == 0 {
			return Grid{}, fmt.Errorf("sweep: plan: method %s has no learning rates", pm.Name)
		}
		m.LRs = pm.LRs
		g.Methods = append(g.Methods, m)
	}
	runs := g.Runs()
	if len(runs) != len(p.Runs) {
		return Grid{}, fmt.Errorf("sweep: plan: its grid makes %d runs, it lists %d", len(runs), len(p.Runs))
	}
	for i := range runs {
		if runs[i].Key() != p.Runs[i].Key() {
			return Grid{}, fmt.Errorf("sweep: plan: run %d is %s, its grid makes %s there", i, p.Runs[i].Key(), runs[i].Key())
		}
	}
	return g, nil
}

// numberedRun is a line of the plan's run list.
type numberedRun struct {
	Index int `json:"index"`
	Run
}

// planFile is the plan as written: the settings, then the runs.
type planFile struct {
	Plan
	Runs []numberedRun `json:"runs"`
}

// Encode writes the plan as JSON: its settings, then "runs" with one
// numbered run per line.
func (p Plan) Encode(w io.Writer) error {
	head, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("sweep: plan: %w", err)
	}
	var b bytes.Buffer
	b.Write(bytes.TrimSuffix(bytes.TrimSpace(head), []byte("}")))
	b.Truncate(len(bytes.TrimRight(b.Bytes(), "\n ")))
	b.WriteString(",\n  \"runs\": [")
	for i, r := range p.Runs {
		line, err := json.Marshal(numberedRun{Index: i, Run: r})
		if err != nil {
			return fmt.Errorf("sweep: plan: %w", err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		b.Write(line)
	}
	b.WriteString("\n  ]\n}\n")
	_, err = w.Write(b.Bytes())
	return err
}

// PlanPath is the plan file of the sweep folder dir.
func PlanPath(dir string) string { return filepath.Join(dir, RunsDir, PlanName) }

// OutcomePath is the outcome file of run i of the sweep folder dir.
func OutcomePath(dir string, i int) string {
	return filepath.Join(dir, RunsDir, fmt.Sprintf("%04d.json", i))
}

// CheckpointPath is the training checkpoint of run i of the sweep folder
// dir, there while the run trains or after it was stopped.
func CheckpointPath(dir string, i int) string {
	return filepath.Join(dir, RunsDir, fmt.Sprintf("%04d.ckpt.safetensors", i))
}

// RunsEntry matches the names of the files a sweep writes in its RunsDir
// folder (and the temporary files it renames into place).
var RunsEntry = regexp.MustCompile(`^(plan\.json|[0-9]{4,}\.json|[0-9]{4,}\.ckpt\.safetensors)$|^\.(plan\.json|[0-9]{4,}\.json|[0-9]{4,}\.ckpt\.safetensors)\.tmp[0-9]*$`)

// ReadPlan reads the plan of the sweep folder dir.
func ReadPlan(dir string) (Plan, error) {
	path := PlanPath(dir)
	data, err := safefile.ReadFile(path, maxPlan, "the sweep's plan")
	if errors.Is(err, fs.ErrNotExist) {
		return Plan{}, fmt.Errorf("sweep: %s: no plan in %s (write one first: petl sweep --plan with the grid's flags and --out %s): %w", path, dir, dir, err)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("sweep: reading the plan: %w", err)
	}
	var pf planFile
	if err := json.Unmarshal(data, &pf); err != nil {
		return Plan{}, fmt.Errorf("sweep: %s: not a sweep plan: %w", path, err)
	}
	if pf.Format != PlanFormat || pf.Version != PlanVersion {
		return Plan{}, fmt.Errorf("sweep: %s: format %q version %d, want %q version %d", path, pf.Format, pf.Version, PlanFormat, PlanVersion)
	}
	p := pf.Plan
	p.Runs = make([]Run, len(pf.Runs))
	for i, nr := range pf.Runs {
		if nr.Index != i {
			return Plan{}, fmt.Errorf("sweep: %s: run %d is numbered %d", path, i, nr.Index)
		}
		p.Runs[i] = nr.Run
	}
	return p, nil
}

// WritePlan writes p as the plan of the sweep folder dir, atomically; a
// plan already there must be the same (its runs' numbers are in use).
// It reports whether the plan was new.
func WritePlan(dir string, p Plan) (bool, error) {
	var b bytes.Buffer
	if err := p.Encode(&b); err != nil {
		return false, err
	}
	path := PlanPath(dir)
	old, err := safefile.ReadFile(path, maxPlan, "the sweep's plan")
	switch {
	case err == nil:
		if bytes.Equal(old, b.Bytes()) {
			return false, nil
		}
		return false, fmt.Errorf("sweep: %s holds another sweep's plan (%s differ): give another output folder, or the same flags as before", path, planDiff(old, b.Bytes()))
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("sweep: reading the plan: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("sweep: %w", err)
	}
	if err := safefile.WriteAtomic(path, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
		return false, fmt.Errorf("sweep: %w", err)
	}
	return true, nil
}

// planDiff names the top-level fields in which two plan files differ.
func planDiff(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return "the files"
	}
	var diff []string
	for k, v := range mb {
		if w, ok := ma[k]; !ok || !bytes.Equal(compact(v), compact(w)) {
			diff = append(diff, k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			diff = append(diff, k)
		}
	}
	if len(diff) == 0 {
		return "their layouts"
	}
	sort.Strings(diff)
	return strings.Join(diff, ", ")
}

func compact(v []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

// WriteOutcome writes o as the outcome file at path, atomically: a
// results file of one line (WriteResults).
func WriteOutcome(path string, o Outcome) error { return WriteResults(path, []Outcome{o}) }

// ReadOutcome reads the outcome file at path; ok is false when there is
// none.
func ReadOutcome(path string) (o Outcome, ok bool, err error) {
	data, err := safefile.ReadFile(path, maxOutcome, "a run's outcome")
	if errors.Is(err, fs.ErrNotExist) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, fmt.Errorf("sweep: %w", err)
	}
	if err := json.Unmarshal(data, &o); err != nil || o.Task == "" || o.Method == "" {
		if err == nil {
			err = errors.New("no task or method")
		}
		return Outcome{}, false, fmt.Errorf("sweep: %s: not a run outcome (remove it to run the run again): %w", path, err)
	}
	return o, true, nil
}

// outcomeName matches an outcome file of RunsDir.
var outcomeName = regexp.MustCompile(`^([0-9]{4,})\.json$`)

// ReadOutcomes reads every outcome file of the sweep folder dir, in the
// order of their run numbers (none when dir has no RunsDir).
func ReadOutcomes(dir string) ([]Outcome, error) {
	entries, err := os.ReadDir(filepath.Join(dir, RunsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	type numbered struct {
		i int
		o Outcome
	}
	var list []numbered
	for _, e := range entries {
		m := outcomeName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		o, ok, err := ReadOutcome(filepath.Join(dir, RunsDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if ok {
			list = append(list, numbered{i, o})
		}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].i < list[b].i })
	out := make([]Outcome, len(list))
	for k, n := range list {
		out[k] = n.o
	}
	return out, nil
}

// Gather is the collect step's reading: the outcomes of the results file
// (store, may be nil) merged with the outcome files of the sweep folder dir
// (a run's file replaces its line), how many outcome files there were, and
// the numbers of the runs of g that have no outcome yet.
func Gather(dir string, g Grid, store *Store) (outcomes []Outcome, files int, missing []int, err error) {
	fromFiles, err := ReadOutcomes(dir)
	if err != nil {
		return nil, 0, nil, err
	}
	at := map[string]int{}
	if store != nil {
		for _, o := range store.Outcomes() {
			at[o.Key()] = len(outcomes)
			outcomes = append(outcomes, o)
		}
	}
	for _, o := range fromFiles {
		if i, ok := at[o.Key()]; ok {
			outcomes[i] = o
			continue
		}
		at[o.Key()] = len(outcomes)
		outcomes = append(outcomes, o)
	}
	for i, r := range g.Runs() {
		if _, ok := at[r.Key()]; !ok {
			missing = append(missing, i)
		}
	}
	return outcomes, len(fromFiles), missing, nil
}

// WriteResults writes outcomes as the results file at path (one JSON line
// each), atomically.
func WriteResults(path string, outcomes []Outcome) error {
	err := safefile.WriteAtomic(path, func(w io.Writer) error {
		for _, o := range outcomes {
			line, err := json.Marshal(sanitize(o))
			if err != nil {
				return err
			}
			if _, err := w.Write(append(line, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
