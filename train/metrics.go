package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// startMetrics prepares the metrics file at the start of Run: a fresh run
// empties it; a resumed one keeps the records up to the step it resumed at
// (a run stopped between an evaluation and its checkpoint wrote records
// that the resumed run writes again). Errors show here rather than after
// an epoch of training.
func (t *Trainer) startMetrics() error {
	if t.cfg.Metrics == "" || t.metricsStarted {
		return nil
	}
	var keep []byte
	if t.resumed {
		old, err := os.ReadFile(t.cfg.Metrics)
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("train: metrics file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(old))
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var r struct {
				Step *int `json:"step"`
			}
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Step != nil && *r.Step <= t.step {
				keep = append(append(keep, sc.Bytes()...), '\n')
			}
		}
	}
	if err := os.WriteFile(t.cfg.Metrics, keep, 0o644); err != nil {
		return fmt.Errorf("train: metrics file: %w", err)
	}
	t.metricsStarted = true
	return nil
}

// writeMetrics appends r to the metrics file as one line of JSON.
// Non-finite dev scores are written as null.
func (t *Trainer) writeMetrics(r MetricsRecord) error {
	if t.cfg.Metrics == "" {
		return nil
	}
	// MetricsRecord's fields in order, with non-finite scores as null.
	line, err := json.Marshal(struct {
		Step           int            `json:"step"`
		Epoch          int            `json:"epoch"`
		Loss           float64        `json:"loss"`
		LR             float64        `json:"lr"`
		Dev            map[string]any `json:"dev,omitempty"`
		Best           bool           `json:"best"`
		ExamplesPerSec float64        `json:"examples_per_sec"`
		Elapsed        float64        `json:"elapsed_sec"`
	}{r.Step, r.Epoch, r.Loss, r.LR, finiteOrNull(r.Dev), r.Best, r.ExamplesPerSec, r.Elapsed})
	if err != nil {
		return fmt.Errorf("train: metrics file %s: %w", t.cfg.Metrics, err)
	}
	f, err := os.OpenFile(t.cfg.Metrics, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("train: metrics file: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("train: metrics file: %w", err)
	}
	return nil
}

// finiteOrNull copies m with NaN and ±Inf as nil (JSON null); nil for an
// empty m.
func finiteOrNull(m map[string]float64) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[k] = nil
		} else {
			out[k] = v
		}
	}
	return out
}

// ReadMetrics reads a metrics file written by a run (Config.Metrics).
func ReadMetrics(path string) ([]MetricsRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []MetricsRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var raw struct {
			MetricsRecord
			Dev map[string]*float64 `json:"dev"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		r := raw.MetricsRecord
		if raw.Dev != nil {
			r.Dev = make(map[string]float64, len(raw.Dev))
			for k, v := range raw.Dev {
				r.Dev[k] = math.NaN()
				if v != nil {
					r.Dev[k] = *v
				}
			}
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
