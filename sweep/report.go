package sweep

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/internal/svgplot"
	"github.com/petl-go/petl/task"
)

// Cell is the chosen setting of one method on one task: the learning rate
// with the best dev score (each run's best epoch), averaged over the seeds
// when there are several.
type Cell struct {
	// Outcome is the chosen learning rate's run of the first seed that has
	// one (its Best is that seed's score; Mean is the cell's score).
	Outcome
	Tried int // learning rates compared
	// Scores are the chosen learning rate's best dev scores, one per seed
	// that has a run, in the grid's seed order; Mean is their mean.
	Scores []float64
	Mean   float64
}

// Row is one method's line of the table.
type Row struct {
	Method Method
	Label  string
	Cells  map[string]Cell // by task key; missing tasks have no runs yet
	// Sizes, for the row that picks the adapter size per task, is the
	// chosen size per task.
	Sizes map[string]int
}

// Mean is the mean main score over tasks, and whether every task has one.
func (r Row) Mean(tasks []string) (float64, bool) {
	sum, n := 0.0, 0
	for _, t := range tasks {
		if c, ok := r.Cells[t]; ok {
			sum += c.Mean
			n++
		}
	}
	if n == 0 {
		return math.NaN(), false
	}
	return sum / float64(n), n == len(tasks)
}

// TrainedFraction is the mean over the row's tasks of the trained
// parameters per task over the base's.
func (r Row) TrainedFraction() float64 {
	sum, n := 0.0, 0
	for _, c := range r.Cells {
		sum += c.TrainedFraction()
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// TotalMultiple is the parameters needed to serve all the row's tasks as a
// multiple of the base: one model per task for full fine-tuning, else the
// shared base plus each task's trained parameters.
func (r Row) TotalMultiple() float64 {
	if r.Method.Plan.Method == adapter.MethodFull {
		return float64(len(r.Cells))
	}
	total := 1.0
	for _, c := range r.Cells {
		total += c.TrainedFraction()
	}
	return total
}

// Results is a sweep's outcomes arranged as the paper's Table 1.
type Results struct {
	Tasks []string
	Rows  []Row
}

// Collect chooses, for each method and task of g, the learning rate with
// the best mean dev score over the seeds, and adds a row "adapters (8-256)"
// that picks the adapter size per task on dev when g has more than one
// adapter size.
func Collect(g Grid, outcomes []Outcome) Results {
	byKey := map[string]Outcome{}
	for _, o := range outcomes {
		byKey[o.Key()] = o
	}
	res := Results{Tasks: g.Tasks}
	var adapterRows []Row
	for _, m := range g.Methods {
		row := Row{Method: m, Label: m.Label(), Cells: map[string]Cell{}}
		for _, t := range g.Tasks {
			var best *Cell
			tried := 0
			for _, lr := range m.LRs {
				var c Cell
				for _, seed := range g.SeedList() {
					o, ok := byKey[g.run(t, m.Name, lr, seed).Key()]
					if !ok {
						continue
					}
					if c.Scores == nil {
						c.Outcome = o
					}
					c.Scores = append(c.Scores, o.Best)
					c.Mean += o.Best
				}
				if c.Scores == nil {
					continue
				}
				c.Mean /= float64(len(c.Scores))
				tried++
				if best == nil || c.Mean > best.Mean {
					best = &c
				}
			}
			if best != nil {
				best.Tried = tried
				row.Cells[t] = *best
			}
		}
		res.Rows = append(res.Rows, row)
		if m.Plan.Method == adapter.MethodAdapter && !m.RandomBase {
			adapterRows = append(adapterRows, row)
		}
	}
	if len(adapterRows) > 1 {
		sizes := make([]int, len(adapterRows))
		for i, r := range adapterRows {
			sizes[i] = r.Method.Plan.Adapter.Size
		}
		lo, hi := sizes[0], sizes[0]
		for _, s := range sizes {
			lo, hi = min(lo, s), max(hi, s)
		}
		row := Row{
			Method: Method{Name: "adapter-best", Plan: adapter.Plan{Method: adapter.MethodAdapter}},
			Label:  fmt.Sprintf("adapters (%d-%d, size chosen on dev)", lo, hi),
			Cells:  map[string]Cell{}, Sizes: map[string]int{},
		}
		for _, t := range g.Tasks {
			for _, r := range adapterRows {
				c, ok := r.Cells[t]
				if ok && (row.Cells[t].Task == "" || c.Mean > row.Cells[t].Mean) {
					row.Cells[t] = c
					row.Sizes[t] = r.Method.Plan.Adapter.Size
				}
			}
		}
		// place it before the first adapter row, as the paper's table does
		for i, r := range res.Rows {
			if r.Method.Plan.Method == adapter.MethodAdapter && !r.Method.RandomBase {
				res.Rows = append(res.Rows[:i], append([]Row{row}, res.Rows[i:]...)...)
				break
			}
		}
	}
	return res
}

// taskName is the display name of a task key.
func taskName(key string) string {
	if s, err := task.Lookup(key); err == nil {
		return s.Name
	}
	return key
}

// writeHeader writes a markdown table's header: the columns before, one per
// task, the columns after; the first column left-aligned, the others with
// the alignment marker align ("---:" or "---").
func (res Results) writeHeader(b *strings.Builder, before, after []string, align string) {
	cols := append([]string{}, before...)
	for _, t := range res.Tasks {
		cols = append(cols, taskName(t))
	}
	cols = append(cols, after...)
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|---|")
	for range cols[1:] {
		b.WriteString(align + "|")
	}
	b.WriteString("\n")
}

// WriteTable writes the Table-1-like markdown table: total parameters for
// all tasks, trained parameters per task, the dev score of each task (x100,
// the task's main metric) and the mean.
func (res Results) WriteTable(w io.Writer) error {
	var b strings.Builder
	res.writeHeader(&b, []string{"method", "total params", "trained params / task"}, []string{"mean"}, "---:")
	for _, r := range res.Rows {
		if len(r.Cells) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %.2fx | %s |", r.Label, r.TotalMultiple(), percent(r.TrainedFraction()))
		for _, t := range res.Tasks {
			c, ok := r.Cells[t]
			switch {
			case !ok:
				b.WriteString(" - |")
			case r.Sizes != nil:
				fmt.Fprintf(&b, " %.1f (%d) |", 100*c.Mean, r.Sizes[t])
			default:
				fmt.Fprintf(&b, " %.1f |", 100*c.Mean)
			}
		}
		mean, complete := r.Mean(res.Tasks)
		if complete {
			fmt.Fprintf(&b, " %.1f |\n", 100*mean)
		} else {
			b.WriteString(" - |\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSeeds writes each method's score per seed on each task (x100, at
// the learning rate chosen on the mean), "a / b / c", and the mean: the
// spread that the means of WriteTable hide.
func (res Results) WriteSeeds(w io.Writer) error {
	var b strings.Builder
	res.writeHeader(&b, []string{"method"}, nil, "---")
	for _, r := range res.Rows {
		if len(r.Cells) == 0 || r.Sizes != nil {
			continue
		}
		fmt.Fprintf(&b, "| %s |", r.Label)
		for _, t := range res.Tasks {
			c, ok := r.Cells[t]
			if !ok {
				b.WriteString(" - |")
				continue
			}
			s := make([]string, len(c.Scores))
			for i, x := range c.Scores {
				s[i] = fmt.Sprintf("%.1f", 100*x)
			}
			fmt.Fprintf(&b, " %s (%.1f) |", strings.Join(s, " / "), 100*c.Mean)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDetails writes every run's outcome per task: learning rate, best
// epoch, score, time.
func (res Results) WriteDetails(w io.Writer, outcomes []Outcome) error {
	var b strings.Builder
	byTask := map[string][]Outcome{}
	for _, o := range outcomes {
		byTask[o.Task] = append(byTask[o.Task], o)
	}
	for _, t := range res.Tasks {
		list := byTask[t]
		if len(list) == 0 {
			continue
		}
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].Method != list[j].Method {
				return list[i].Method < list[j].Method
			}
			if list[i].LR != list[j].LR {
				return list[i].LR < list[j].LR
			}
			return list[i].Seed < list[j].Seed
		})
		fmt.Fprintf(&b, "\n### %s (%s, %d training examples, %d epochs)\n\n", taskName(t), list[0].Main, list[0].Examples, list[0].Epochs)
		b.WriteString("| method | lr | seed | dev score per epoch | best | time |\n|---|---:|---:|---|---:|---:|\n")
		for _, o := range list {
			var ep []string
			for _, d := range o.Dev {
				ep = append(ep, fmt.Sprintf("%.1f", 100*d[o.Main]))
			}
			note := ""
			if o.Diverged != "" {
				note = " (diverged)"
			}
			fmt.Fprintf(&b, "| %s | %g | %d | %s | %.1f%s | %.0f s |\n", o.Method, o.LR, o.Seed, strings.Join(ep, " "), 100*o.Best, note, o.Seconds)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// percent formats a fraction as a percentage with enough digits for small
// values.
func percent(f float64) string {
	switch {
	case math.IsNaN(f):
		return "-"
	case f >= 0.1:
		return fmt.Sprintf("%.0f%%", 100*f)
	case f >= 0.01:
		return fmt.Sprintf("%.1f%%", 100*f)
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

// Chart is the figure like the paper's Figure 1: the mean dev score over
// tasks minus full fine-tuning's, against the trained parameters per task
// as a fraction of the base (log scale). Rows lacking a task are left out;
// it is an error when full fine-tuning is incomplete.
func (res Results) Chart(title string) (*svgplot.Chart, error) {
	return res.chart(title, "mean dev score", func(r Row) (float64, float64, bool) {
		m, ok := r.Mean(res.Tasks)
		return m, r.TrainedFraction(), ok
	})
}

// TaskChart is the figure like the paper's Figure 3 for one task: its dev
// score minus full fine-tuning's against the trained parameters.
func (res Results) TaskChart(title, taskKey string) (*svgplot.Chart, error) {
	return res.chart(title, taskName(taskKey)+" dev score", func(r Row) (float64, float64, bool) {
		c, ok := r.Cells[taskKey]
		return c.Mean, c.TrainedFraction(), ok
	})
}

// chart plots score(row) - score(full) against the trained fraction, one
// series per method family.
func (res Results) chart(title, what string, score func(Row) (y, x float64, ok bool)) (*svgplot.Chart, error) {
	var full *Row
	for i, r := range res.Rows {
		if r.Method.Name == "full" {
			full = &res.Rows[i]
		}
	}
	if full == nil {
		return nil, fmt.Errorf("sweep: the figure needs full fine-tuning on every task")
	}
	ref, _, ok := score(*full)
	if !ok {
		return nil, fmt.Errorf("sweep: the figure needs full fine-tuning on every task")
	}
	series := map[string]*svgplot.Series{}
	var order []string
	add := func(name string, line bool, p svgplot.Point) {
		s, ok := series[name]
		if !ok {
			s = &svgplot.Series{Name: name, Line: line}
			series[name] = s
			order = append(order, name)
		}
		s.Points = append(s.Points, p)
	}
	for _, r := range res.Rows {
		y, x, ok := score(r)
		if !ok || r.Sizes != nil {
			continue
		}
		p := svgplot.Point{X: x, Y: 100 * (y - ref)}
		switch {
		case r.Method.RandomBase:
			add(r.Label, false, p)
		case r.Method.Plan.Method == adapter.MethodAdapter:
			p.Label = fmt.Sprint(r.Method.Plan.Adapter.Size)
			add("adapters (size)", true, p)
		case r.Method.Plan.Method == adapter.MethodTopK:
			p.Label = fmt.Sprintf("k=%d", r.Method.Plan.TopK)
			add("top-k layers", true, p)
		default:
			add(r.Label, false, p)
		}
	}
	c := &svgplot.Chart{
		Title:  title,
		XLabel: "trained parameters per task (fraction of the base)",
		YLabel: what + " - full fine-tuning (points)",
		LogX:   true, HLines: []float64{0},
	}
	for _, name := range order {
		c.Series = append(c.Series, *series[name])
	}
	return c, nil
}
