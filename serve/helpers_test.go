package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/internal/petltest"
	"github.com/stretchr/testify/require"
)

// testBase, writeAdapter and sentence are petltest's, named for this
// package's tests.
func testBase(t testing.TB, seed uint64) *petl.Base { return petltest.Base(t, seed) }

func writeAdapter(t testing.TB, b *petl.Base, dir, name, key string, seed uint64) string {
	t.Helper()
	return petltest.WriteAdapterIn(t, b, dir, name, key, seed)
}

func sentence(rng *rand.Rand, n int) string { return petltest.Sentence(rng, n) }

// loadTasks loads sst2, mrpc and stsb onto b with Server.Load.
func loadTasks(t testing.TB, s *Server) map[string]*petl.Task {
	t.Helper()
	dir := t.TempDir()
	tasks := map[string]*petl.Task{}
	for i, key := range []string{"sst2", "mrpc", "stsb"} {
		tk, err := s.Load(key, writeAdapter(t, s.base, dir, key, key, uint64(i+1)))
		require.NoError(t, err)
		tasks[key] = tk
	}
	return tasks
}

func inputFor(tk *petl.Task, rng *rand.Rand) petl.Input {
	if tk.Pair() {
		return petl.Pair(sentence(rng, 1+rng.IntN(12)), sentence(rng, rng.IntN(12)))
	}
	return petl.Text(sentence(rng, rng.IntN(30)))
}

// gate is a forward pass that can be held: the first pass after hold
// reports its inputs on entered and waits for release. It records the
// size of every pass.
type gate struct {
	base    *petl.Base
	entered chan int
	release chan struct{}

	mu    sync.Mutex
	hold  bool
	sizes []int
}

func newGate(b *petl.Base) *gate {
	return &gate{base: b, entered: make(chan int, 1), release: make(chan struct{})}
}

func (g *gate) run(encs []petl.Encoded, out []petl.Prediction) error {
	g.mu.Lock()
	hold := g.hold
	g.hold = false
	g.sizes = append(g.sizes, len(encs))
	g.mu.Unlock()
	if hold {
		g.entered <- len(encs)
		<-g.release
	}
	return g.base.Run(encs, out)
}

// holdNext makes the next forward pass wait for release.
func (g *gate) holdNext() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

func (g *gate) passes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// newTestServer makes a server over a fresh test base with sst2, mrpc and
// stsb loaded, its forward passes going through a gate, and an httptest
// server in front; both are shut down at the end of the test.
func newTestServer(t testing.TB, opts Options) (*Server, *gate, *httptest.Server, map[string]*petl.Task) {
	t.Helper()
	b := testBase(t, 1)
	g := newGate(b)
	s, err := newServer(b, opts, g.run)
	require.NoError(t, err)
	tasks := loadTasks(t, s)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		hs.Close()
	})
	return s, g, hs, tasks
}

// call sends a request and returns its status and body.
func call(t testing.TB, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// mustJSON encodes v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return buf.String()
}

// body is a predict body for ins as the API reads them: one input alone
// (text, or pair as ["a","b"]) or a batch.
func body(adapterName string, ins []petl.Input, single, raw bool) map[string]any {
	var inputs any
	conv := func(in petl.Input) any {
		if in.Pair {
			return []string{in.Text, in.TextB}
		}
		return in.Text
	}
	if single {
		inputs = conv(ins[0])
	} else {
		list := make([]any, len(ins))
		for i, in := range ins {
			list[i] = conv(in)
		}
		inputs = list
	}
	m := map[string]any{"inputs": inputs, "raw_scores": raw}
	if adapterName != "" {
		m["adapter"] = adapterName
	}
	return m
}

// queued is the number of inputs waiting in s's queue.
func queued(s *Server) int {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.n
}

// waitQueued waits until n inputs are queued.
func waitQueued(t testing.TB, s *Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return queued(s) == n }, 20*time.Second, time.Millisecond, "waiting for %d queued inputs", n)
}

// batchesOver counts the forward passes of more than one input that the
// metrics recorded.
func batchesOver1(t testing.TB, s *Server) uint64 {
	t.Helper()
	mfs, err := s.m.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "petl_batch_requests" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == 1 {
				return h.GetSampleCount() - b.GetCumulativeCount()
			}
		}
	}
	t.Fatal("no petl_batch_requests histogram")
	return 0
}

// requestsWith reads petl_requests_total{task,code}.
func requestsWith(s *Server, task, code string) float64 {
	mfs, err := s.m.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "petl_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["task"] == task && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// counterValue reads an unlabelled counter of s's metrics by name.
func counterValue(t testing.TB, s *Server, name string) float64 {
	t.Helper()
	mfs, err := s.m.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
