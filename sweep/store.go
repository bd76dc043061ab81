package sweep

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"
)

// Outcome is a finished run: one line of the results file.
type Outcome struct {
	Run
	Main      string               `json:"main"`       // the task's main metric
	Dev       []map[string]float64 `json:"dev"`        // dev metrics after each epoch
	Best      float64              `json:"best"`       // best main score over the epochs
	BestEpoch int                  `json:"best_epoch"` // 1-based
	Trained   int                  `json:"trained"`    // parameters trained for the task
	Base      int                  `json:"base"`       // parameters of the base model
	Steps     int                  `json:"steps"`
	Examples  int                  `json:"examples"` // training examples per epoch
	Seconds   float64              `json:"seconds"`  // wall time of the run
	Threads   int                  `json:"threads"`  // kernel threads of the run
	Kernels   string               `json:"kernels"`  // kernel variant
	// Model is the fingerprint of the base the run trained on (for a
	// -random method, of its random initialisation), so that results of
	// different bases never mix in one file; empty in files written before
	// it was recorded.
	Model string `json:"model,omitempty"`
	// Diverged is set when training stopped on a non-finite loss; Best
	// is then the best score before it (or the worst possible score).
	Diverged string `json:"diverged,omitempty"`
	// Resumed is set when the run continued from the checkpoint of an
	// earlier, stopped attempt (Seconds is then the last attempt's).
	Resumed bool `json:"resumed,omitempty"`
}

// TrainedFraction is Trained over Base.
func (o Outcome) TrainedFraction() float64 { return float64(o.Trained) / float64(max(o.Base, 1)) }

// Store is a results file: one JSON object per line, each line written
// whole and synced before Add returns. The collect step rewrites it whole
// (WriteResults) with every outcome of the sweep's folder.
type Store struct {
	path string
	mu   sync.Mutex
	done map[string]Outcome
	all  []Outcome
}

// OpenStore reads the results file at path (a missing file is an empty
// store). A line that is not a complete JSON outcome is an error naming
// the line, except an unterminated last line (a write cut short), which is
// dropped with a warning returned in warn.
func OpenStore(path string) (s *Store, warn string, err error) {
	s = &Store{path: path, done: map[string]Outcome{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("sweep: %w", err)
	}
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var o Outcome
		if err := json.Unmarshal(line, &o); err != nil || o.Task == "" || o.Method == "" {
			if i == len(lines)-1 { // no newline after it: an interrupted write
				warn = fmt.Sprintf("%s:%d: dropped an incomplete last line", path, i+1)
				if err := truncate(path, len(data)-len(line)); err != nil {
					return nil, "", err
				}
				break
			}
			if err == nil {
				err = errors.New("no task or method")
			}
			return nil, "", fmt.Errorf("sweep: %s:%d: not a run outcome: %w", path, i+1, err)
		}
		s.put(o)
	}
	return s, warn, nil
}

// truncate cuts the file at path to n bytes.
func truncate(path string, n int) error {
	if err := os.Truncate(path, int64(n)); err != nil {
		return fmt.Errorf("sweep: dropping the incomplete last line: %w", err)
	}
	return nil
}

// put records o (a later outcome of the same run replaces an earlier one).
func (s *Store) put(o Outcome) {
	k := o.Key()
	if _, ok := s.done[k]; !ok {
		s.all = append(s.all, o)
	} else {
		for i := range s.all {
			if s.all[i].Key() == k {
				s.all[i] = o
			}
		}
	}
	s.done[k] = o
}

// Done reports whether run r has an outcome in s (which may be nil).
func (s *Store) Done(r Run) bool {
	_, ok := s.Get(r)
	return ok
}

// Get returns run r's outcome, if s (which may be nil) has one.
func (s *Store) Get(r Run) (Outcome, bool) {
	if s == nil {
		return Outcome{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.done[r.Key()]
	return o, ok
}

// Outcomes returns every outcome, in the order first recorded.
func (s *Store) Outcomes() []Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Outcome(nil), s.all...)
}

// Add appends o to the file (one line, synced) and records it.
func (s *Store) Add(o Outcome) error {
	o = sanitize(o)
	line, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	w := bufio.NewWriter(f)
	w.Write(line)
	w.WriteByte('\n')
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sweep: writing %s: %w", s.path, err)
	}
	s.put(o)
	return nil
}

// sanitize returns o with every non-finite score 0: JSON has no NaN, and
// a degenerate metric (constant predictions) scores 0.
func sanitize(o Outcome) Outcome {
	dev := make([]map[string]float64, len(o.Dev))
	for i, d := range o.Dev {
		dev[i] = make(map[string]float64, len(d))
		for k, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0
			}
			dev[i][k] = v
		}
	}
	if o.Dev != nil {
		o.Dev = dev
	}
	if math.IsNaN(o.Best) || math.IsInf(o.Best, 0) {
		o.Best = 0
	}
	return o
}

// Path is the results file.
func (s *Store) Path() string { return s.path }
