package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petl-go/petl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeErrors: every kind of bad request gets its status and a JSON
// error of its type, and a good request afterwards is answered as usual.
func TestServeErrors(t *testing.T) {
	_, _, hs, _ := newTestServer(t, Options{MaxBodyBytes: 2000, MaxInputs: 3})
	long := strings.Repeat("the film was good ", 20)
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		typ                      string
	}{
		{"not JSON", "POST", "/predict", `{"adapter": "sst2", "inputs": "x"`, 400, TypeInvalidJSON},
		{"empty body", "POST", "/predict", ``, 400, TypeInvalidJSON},
		{"trailing data", "POST", "/predict", `{"adapter": "sst2", "inputs": "x"} {}`, 400, TypeInvalidJSON},
		{"not an object", "POST", "/predict", `["sst2"]`, 422, TypeValidation},
		{"unknown field", "POST", "/predict", `{"adapter": "sst2", "input": "x"}`, 422, TypeValidation},
		{"wrong field type", "POST", "/predict", `{"adapter": "sst2", "inputs": "x", "raw_scores": "yes"}`, 422, TypeValidation},
		{"inputs missing", "POST", "/predict", `{"adapter": "sst2"}`, 422, TypeEmpty},
		{"inputs null", "POST", "/predict", `{"adapter": "sst2", "inputs": null}`, 422, TypeEmpty},
		{"inputs empty", "POST", "/predict", `{"adapter": "sst2", "inputs": []}`, 422, TypeEmpty},
		{"inputs a number", "POST", "/predict", `{"adapter": "sst2", "inputs": 3}`, 422, TypeValidation},
		{"inputs mixed", "POST", "/predict", `{"adapter": "sst2", "inputs": ["a", ["b", "c"]]}`, 422, TypeValidation},
		{"pair of three", "POST", "/predict", `{"adapter": "mrpc", "inputs": [["a", "b", "c"]]}`, 422, TypeValidation},
		{"null in pair", "POST", "/predict", `{"adapter": "mrpc", "inputs": [["a", null]]}`, 422, TypeValidation},
		{"pair to single-text task", "POST", "/predict", `{"adapter": "sst2", "inputs": [["a", "b"]]}`, 422, TypeValidation},
		{"text to pair task", "POST", "/predict", `{"adapter": "mrpc", "inputs": "the film"}`, 422, TypeValidation},
		{"texts to pair task", "POST", "/predict", `{"adapter": "mrpc", "inputs": ["a", "b", "c"]}`, 422, TypeValidation},
		{"no adapter", "POST", "/predict", `{"inputs": "x"}`, 422, TypeValidation},
		{"adapter contradicts path", "POST", "/tasks/sst2/predict", `{"adapter": "mrpc", "inputs": "x"}`, 422, TypeValidation},
		{"too long, no truncation", "POST", "/predict", `{"adapter": "sst2", "inputs": "` + long + `", "truncate": false}`, 422, TypeValidation},
		{"unknown task", "POST", "/predict", `{"adapter": "nope", "inputs": "x"}`, 404, TypeUnknownTask},
		{"unknown task in path", "POST", "/tasks/nope/predict", `{"inputs": "x"}`, 404, TypeUnknownTask},
		{"unknown task info", "GET", "/tasks/nope", ``, 404, TypeUnknownTask},
		{"no such path", "GET", "/nope", ``, 404, TypeNotFound},
		{"no such task path", "POST", "/tasks/sst2/other", `{}`, 404, TypeNotFound},
		{"body too large", "POST", "/predict", `{"adapter": "sst2", "inputs": "` + strings.Repeat("a ", 1000) + `"}`, 413, TypePayloadTooLarge},
		{"too many inputs", "POST", "/predict", `{"adapter": "sst2", "inputs": ["a", "b", "c", "d"]}`, 413, TypeTooManyInputs},
		{"too many pairs", "POST", "/predict", `{"adapter": "mrpc", "inputs": [["a", "b"], ["a", "b"], ["a", "b"], ["a", "b"]]}`, 413, TypeTooManyInputs},
		{"GET predict", "GET", "/predict", ``, 405, TypeMethodNotAllowed},
		{"POST tasks", "POST", "/tasks", `{}`, 405, TypeMethodNotAllowed},
		{"DELETE task predict", "DELETE", "/tasks/sst2/predict", ``, 405, TypeMethodNotAllowed},
		{"POST health", "POST", "/health", ``, 405, TypeMethodNotAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, data := call(t, c.method, hs.URL+c.path, c.body)
			assert.Equal(t, c.status, status, "%s", data)
			var e Error
			require.NoError(t, json.Unmarshal(data, &e), "%s", data)
			assert.Equal(t, c.typ, e.Type, "%s", data)
			assert.NotEmpty(t, e.Error)
		})
	}
	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the film was good"}`)
	require.Equal(t, 200, status, "%s", data)
	status, _ = call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "`+long+`", "truncate": true}`)
	require.Equal(t, 200, status)
}

// TestServePredictEqualsDirect: answers, single and batched, probabilities
// and raw scores, are exactly Task.Predict's for the same inputs.
func TestServePredictEqualsDirect(t *testing.T) {
	_, _, hs, tasks := newTestServer(t, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"sst2", "mrpc", "stsb"} {
		tk := tasks[name]
		for _, raw := range []bool{false, true} {
			ins := make([]petl.Input, 5)
			for i := range ins {
				ins[i] = inputFor(tk, rng)
			}
			want, err := tk.Predict(context.Background(), ins...)
			require.NoError(t, err)
			t.Run(fmt.Sprintf("%s/raw=%v/batch", name, raw), func(t *testing.T) {
				status, data := call(t, "POST", hs.URL+"/predict", mustJSON(t, body(name, ins, false, raw)))
				require.Equal(t, 200, status, "%s", data)
				var got [][]Score
				require.NoError(t, json.Unmarshal(data, &got))
				require.Len(t, got, len(ins))
				for i := range got {
					checkScores(t, tk, &want[i], got[i], raw)
				}
			})
			t.Run(fmt.Sprintf("%s/raw=%v/single", name, raw), func(t *testing.T) {
				status, data := call(t, "POST", hs.URL+"/tasks/"+name+"/predict", mustJSON(t, body("", ins, true, raw)))
				require.Equal(t, 200, status, "%s", data)
				var got []Score
				require.NoError(t, json.Unmarshal(data, &got))
				checkScores(t, tk, &want[0], got, raw)
			})
		}
	}
	// A flat list is a batch of texts for a single-text task.
	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": ["the film", "a dull plot"]}`)
	require.Equal(t, 200, status, "%s", data)
	var got [][]Score
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Len(t, got, 2)
}

// checkScores checks an answer against a direct prediction: every class
// once, highest first, the probabilities (or logits, raw) bit for bit.
func checkScores(t *testing.T, tk *petl.Task, want *petl.Prediction, got []Score, raw bool) {
	t.Helper()
	if tk.Regression() {
		require.Len(t, got, 1)
		assert.Equal(t, RegressionLabel, got[0].Label)
		assert.Equal(t, want.Logits[0], float32(got[0].Score))
		assert.Equal(t, want.Score, got[0].Score)
		return
	}
	require.Len(t, got, len(tk.Labels()))
	seen := map[string]bool{}
	for i, sc := range got {
		c := indexOf(tk.Labels(), sc.Label)
		require.GreaterOrEqual(t, c, 0, "label %q", sc.Label)
		assert.False(t, seen[sc.Label])
		seen[sc.Label] = true
		if raw {
			assert.Equal(t, want.Logits[c], float32(sc.Score), "logit of %s", sc.Label)
			assert.Equal(t, float64(want.Logits[c]), sc.Score)
		} else {
			assert.Equal(t, want.Probs[c], sc.Score, "probability of %s", sc.Label)
		}
		if i > 0 {
			assert.GreaterOrEqual(t, got[i-1].Score, sc.Score, "sorted")
		}
	}
	assert.Equal(t, want.Label, got[0].Label)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestServeManyClients: 32 clients sending requests of three tasks (single
// texts, pairs, regression; one input or batches) at once each get exactly
// the direct prediction, and the requests shared forward passes.
func TestServeManyClients(t *testing.T) {
	s, _, hs, tasks := newTestServer(t, Options{MaxWait: 5 * time.Millisecond})
	names := []string{"sst2", "mrpc", "stsb"}
	type req struct {
		name   string
		ins    []petl.Input
		single bool
		want   []petl.Prediction
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var reqs []req
	for i := 0; i < 96; i++ {
		name := names[i%len(names)]
		n := 1 + rng.IntN(3)
		r := req{name: name, single: n == 1 && rng.IntN(2) == 0}
		for range n {
			r.ins = append(r.ins, inputFor(tasks[name], rng))
		}
		var err error
		r.want, err = tasks[name].Predict(context.Background(), r.ins...)
		require.NoError(t, err)
		reqs = append(reqs, r)
	}
	const clients = 32
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			for k := c; k < len(reqs); k += clients {
				r := reqs[k]
				raw := k%2 == 0
				resp, err := http.Post(hs.URL+"/predict", "application/json", strings.NewReader(mustJSON(t, body(r.name, r.ins, r.single, raw))))
				if err != nil {
					errs <- err
					return
				}
				var got [][]Score
				var one []Score
				dec := json.NewDecoder(resp.Body)
				if r.single {
					err = dec.Decode(&one)
					got = [][]Score{one}
				} else {
					err = dec.Decode(&got)
				}
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(got) != len(r.ins) {
					errs <- fmt.Errorf("request %d: status %d, %d answers, %v", k, resp.StatusCode, len(got), err)
					return
				}
				for i := range got {
					if want := scores(tasks[r.name], &r.want[i], raw); fmt.Sprint(want) != fmt.Sprint(got[i]) {
						errs <- fmt.Errorf("request %d (%s) input %d: got %v, alone %v", k, r.name, i, got[i], want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for _, r := range reqs {
		n += len(r.ins)
	}
	assert.Equal(t, float64(len(reqs)), requestsWith(s, "sst2", "200")+requestsWith(s, "mrpc", "200")+requestsWith(s, "stsb", "200"))
	over := batchesOver1(t, s)
	t.Logf("%d requests, %d inputs; %d forward passes of more than one input", len(reqs), n, over)
	assert.Positive(t, over, "32 clients at once never shared a forward pass")
}

// TestServeBatches: inputs that queue while a forward pass runs go
// together, whatever their tasks, into the next one, up to the limits.
func TestServeBatches(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{MaxBatchRequests: 4, MaxWait: -1})
	g.holdNext()
	first := make(chan int, 1)
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the film"}`)
		first <- status
	}()
	<-g.entered // the first request runs alone, held
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	for i, b := range []string{
		`{"adapter": "sst2", "inputs": ["a", "b"]}`,                           // 2
		`{"adapter": "mrpc", "inputs": ["a", "b"]}`,                           // 1 pair
		`{"adapter": "stsb", "inputs": [["a", "b"], ["c", "d"], ["e", "f"]]}`, // 3
	} {
		wg.Go(func() {
			status, data := call(t, "POST", hs.URL+"/predict", b)
			assert.Equal(t, 200, status, "%d: %s", i, data)
			statuses <- status
		})
		waitQueued(t, s, []int{2, 3, 6}[i]) // in this order
	}
	close(g.release)
	wg.Wait()
	assert.Equal(t, 200, <-first)
	assert.Equal(t, []int{1, 4, 2}, g.passes(), "forward passes: the held one, then 4 of the 6 queued inputs (the limit), then the rest")
	assert.Equal(t, uint64(2), batchesOver1(t, s))
}

// TestServeTokenBudget: a pass holds inputs up to MaxBatchTokens.
func TestServeTokenBudget(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{MaxBatchTokens: 10, MaxWait: -1})
	g.holdNext()
	go call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the"}`)
	<-g.entered
	done := make(chan struct{})
	go func() {
		defer close(done)
		// 5, 5, 4 and 6 wordpieces: passes of 10, then 4+6.
		status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": ["the film is", "a bad plot", "good so", "it is not fun"]}`)
		assert.Equal(t, 200, status, "%s", data)
	}()
	waitQueued(t, s, 4)
	close(g.release)
	<-done
	assert.Equal(t, []int{1, 2, 2}, g.passes())
}

// TestServeNoBatching: with NoBatching every input runs alone.
func TestServeNoBatching(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{NoBatching: true})
	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": ["a", "b", "c"]}`)
	require.Equal(t, 200, status, "%s", data)
	assert.Equal(t, []int{1, 1, 1}, g.passes())
	assert.False(t, s.Info().Batching)
}

// TestServeCancelled: a client that goes away while its request is queued
// has its inputs skipped; the others are answered.
func TestServeCancelled(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{MaxWait: -1})
	g.holdNext()
	first := make(chan int, 1)
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the film"}`)
		first <- status
	}()
	<-g.entered

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("POST", "/predict", strings.NewReader(`{"adapter": "sst2", "inputs": ["a", "b", "c"]}`)).WithContext(ctx)
	rec := httptest.NewRecorder()
	handled := make(chan struct{})
	go func() {
		s.ServeHTTP(rec, req)
		close(handled)
	}()
	waitQueued(t, s, 3)
	cancel()
	<-handled // the handler returns at once, writing nothing
	assert.Equal(t, 200, rec.Code)
	assert.Empty(t, rec.Body.String())

	close(g.release)
	assert.Equal(t, 200, <-first)
	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "mrpc", "inputs": ["a", "b"]}`)
	require.Equal(t, 200, status, "%s", data)
	assert.Equal(t, []int{1, 1}, g.passes(), "the cancelled request's 3 inputs never ran")
	assert.Equal(t, 1.0, requestsWith(s, "sst2", "499"))
	assert.Equal(t, 0, queued(s))
	assert.Equal(t, 3.0, counterValue(t, s, "petl_skipped_inputs_total"))
}

// TestServeQueueFull: a request whose inputs do not fit in the queue is
// refused at once with 503; the queued ones are answered.
func TestServeQueueFull(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{QueueSize: 3, MaxInputs: 3, MaxWait: -1})
	g.holdNext()
	results := make(chan int, 3)
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the film"}`)
		results <- status
	}()
	<-g.entered
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": ["a", "b"]}`)
		results <- status
	}()
	waitQueued(t, s, 2)
	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "mrpc", "inputs": [["a", "b"], ["c", "d"]]}`)
	assert.Equal(t, 503, status)
	var e Error
	require.NoError(t, json.Unmarshal(data, &e))
	assert.Equal(t, TypeOverloaded, e.Type)
	// One more input still fits.
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "mrpc", "inputs": ["a", "b"]}`)
		results <- status
	}()
	waitQueued(t, s, 3)
	close(g.release)
	for range 3 {
		assert.Equal(t, 200, <-results)
	}
	assert.Equal(t, 1.0, requestsWith(s, "mrpc", "503"))
}

// TestServeReload: reloading the adapters directory adds, replaces and
// removes tasks while requests run; a request queued with a task that is
// then removed is still answered with it; explicit tasks stay.
func TestServeReload(t *testing.T) {
	b := testBase(t, 2)
	g := newGate(b)
	dir := t.TempDir()
	s, err := newServer(b, Options{AdaptersDir: dir, MaxWait: -1}, g.run)
	require.NoError(t, err)
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())

	explicit, err := s.Load("sst2", writeAdapter(t, b, t.TempDir(), "sst2", "sst2", 1))
	require.NoError(t, err)
	writeAdapter(t, b, dir, "cola", "cola", 2)
	writeAdapter(t, b, dir, "sst2", "sst2", 3) // named like an explicit task: skipped
	ch, err := s.Reload()
	require.NoError(t, err)
	assert.Equal(t, []string{"cola"}, ch.Added)
	assert.Equal(t, []string{"sst2"}, ch.Skipped)
	cola, err := b.Task("cola")
	require.NoError(t, err)

	// Clients keep sending sst2 and cola requests through the reloads.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				name := []string{"sst2", "cola"}[(c+k)%2]
				status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "`+name+`", "inputs": "the film was good"}`)
				if name == "sst2" && status != 200 || name == "cola" && status != 200 && status != 404 {
					t.Errorf("%s: %d %s", name, status, data)
					return
				}
			}
		})
	}

	// A cola request queued behind a held pass, then cola removed.
	g.holdNext()
	<-g.entered
	in := petl.Text("a dull plot")
	want, err := cola.Predict(context.Background(), in)
	require.NoError(t, err)
	queuedCola := make(chan []Score, 1)
	go func() {
		status, data := call(t, "POST", hs.URL+"/tasks/cola/predict", `{"inputs": "a dull plot"}`)
		assert.Equal(t, 200, status, "%s", data)
		var got []Score
		assert.NoError(t, json.Unmarshal(data, &got))
		queuedCola <- got
	}()
	require.Eventually(t, func() bool {
		s.q.mu.Lock()
		defer s.q.mu.Unlock()
		for _, j := range s.q.jobs {
			if j.encs[0].Task == cola && j.encs[0].Tokens() == 5 {
				return true
			}
		}
		return false
	}, 20*time.Second, time.Millisecond)
	require.NoError(t, os.Remove(filepath.Join(dir, "cola.json")))
	require.NoError(t, os.Remove(filepath.Join(dir, "cola.safetensors")))
	writeAdapter(t, b, dir, "mrpc", "mrpc", 4)
	ch, err = s.Reload()
	require.NoError(t, err)
	assert.Equal(t, []string{"mrpc"}, ch.Added)
	assert.Equal(t, []string{"cola"}, ch.Removed)
	close(g.release)
	checkScores(t, cola, &want[0], <-queuedCola, false)

	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "cola", "inputs": "the film"}`)
	assert.Equal(t, 404, status, "%s", data)
	status, data = call(t, "POST", hs.URL+"/predict", `{"adapter": "mrpc", "inputs": ["the film", "a film"]}`)
	assert.Equal(t, 200, status, "%s", data)

	// Replacing a file replaces its task; an unchanged one is left alone;
	// a broken one changes nothing and is reported.
	mrpc, err := b.Task("mrpc")
	require.NoError(t, err)
	writeAdapter(t, b, dir, "mrpc", "mrpc", 5)
	writeAdapter(t, b, dir, "cola", "cola", 6)
	ch, err = s.Reload()
	require.NoError(t, err)
	assert.Equal(t, []string{"mrpc"}, ch.Replaced)
	assert.Equal(t, []string{"cola"}, ch.Added)
	mrpc2, err := b.Task("mrpc")
	require.NoError(t, err)
	assert.NotSame(t, mrpc, mrpc2)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cola.json"), []byte("{"), 0o644))
	ch, err = s.Reload()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cola")
	assert.Equal(t, []string{"mrpc"}, ch.Unchanged)
	_, err = b.Task("cola")
	assert.NoError(t, err, "a broken file keeps the task it would replace")
	close(stop)
	wg.Wait()

	got, err := b.Task("sst2")
	require.NoError(t, err)
	assert.Same(t, explicit, got, "an explicit task stays")
	var infos []TaskInfo
	_, data = call(t, "GET", hs.URL+"/tasks", "")
	require.NoError(t, json.Unmarshal(data, &infos))
	sources := map[string]string{}
	for _, in := range infos {
		sources[in.Name] = in.Source
	}
	assert.Equal(t, map[string]string{"sst2": "adapter", "mrpc": "adapters_dir", "cola": "adapters_dir"}, sources)
}

// TestServeShutdown: Shutdown refuses new requests (health 503), answers
// the running and queued ones, and stops the loop.
func TestServeShutdown(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{MaxWait: -1})
	g.holdNext()
	results := make(chan int, 2)
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the film"}`)
		results <- status
	}()
	<-g.entered
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "mrpc", "inputs": [["a", "b"], ["c", "d"]]}`)
		results <- status
	}()
	waitQueued(t, s, 2)
	status, _ := call(t, "GET", hs.URL+"/health", "")
	assert.Equal(t, 200, status)

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool {
		status, _ := call(t, "GET", hs.URL+"/health", "")
		return status == 503
	}, 20*time.Second, time.Millisecond)
	status, data := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "late"}`)
	assert.Equal(t, 503, status)
	assert.Contains(t, string(data), TypeUnavailable)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with requests in flight", err)
	default:
	}
	close(g.release)
	assert.Equal(t, 200, <-results)
	assert.Equal(t, 200, <-results)
	require.NoError(t, <-shut)
	<-s.loopDone
}

// TestServeShutdownTimeout: a Shutdown whose context ends first says so.
func TestServeShutdownTimeout(t *testing.T) {
	s, g, hs, _ := newTestServer(t, Options{MaxWait: -1})
	g.holdNext()
	result := make(chan int, 1)
	go func() {
		status, _ := call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "the film"}`)
		result <- status
	}()
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Shutdown(ctx), context.Canceled)
	close(g.release)
	assert.Equal(t, 200, <-result, "the running pass is still answered")
}

// TestServeInfo: /tasks, /tasks/NAME, /health, /info and /metrics.
func TestServeInfo(t *testing.T) {
	s, _, hs, tasks := newTestServer(t, Options{MaxLen: 16})
	status, data := call(t, "GET", hs.URL+"/tasks", "")
	require.Equal(t, 200, status)
	var infos []TaskInfo
	require.NoError(t, json.Unmarshal(data, &infos))
	require.Len(t, infos, 3)
	assert.Equal(t, TaskInfo{Name: "mrpc", Task: "mrpc", TaskName: "MRPC", Labels: []string{"0", "1"}, Pair: true, Method: "ln-head",
		TrainedParams: tasks["mrpc"].File().TrainedParams, MaxLen: 16, Lowercase: true, BaseFingerprint: s.base.Fingerprint(),
		Source: "adapter", File: tasks["mrpc"].Path()}, infos[0])
	assert.Equal(t, "sst2", infos[1].Name)
	assert.Equal(t, 4, infos[1].AdapterSize)
	assert.True(t, infos[2].Regression)
	assert.Equal(t, []string{}, infos[2].Labels)

	status, data = call(t, "GET", hs.URL+"/tasks/sst2", "")
	require.Equal(t, 200, status)
	var one TaskInfo
	require.NoError(t, json.Unmarshal(data, &one))
	assert.Equal(t, infos[1], one)

	status, data = call(t, "GET", hs.URL+"/health", "")
	assert.Equal(t, 200, status, "%s", data)

	status, data = call(t, "GET", hs.URL+"/info", "")
	require.Equal(t, 200, status)
	var info Info
	require.NoError(t, json.Unmarshal(data, &info))
	assert.Equal(t, s.base.Fingerprint(), info.Fingerprint)
	assert.Equal(t, []string{"mrpc", "sst2", "stsb"}, info.Tasks)
	assert.Equal(t, 16, info.Limits.MaxLen)
	assert.Equal(t, DefaultMaxBatchTokens, info.Limits.MaxBatchTokens)
	assert.Equal(t, "0s", info.Limits.MaxWait)
	assert.True(t, info.Batching)
	assert.NotEmpty(t, info.Kernels)
	assert.Equal(t, 16, info.Config.HiddenSize)

	// MaxLen caps the task's length: a long input is cut to 16 wordpieces,
	// as the task with WithMaxLen(16) predicts it.
	long := strings.Repeat("the film was good ", 10)
	capped, err := tasks["sst2"].WithMaxLen(16)
	require.NoError(t, err)
	want, err := capped.Predict(context.Background(), petl.Text(long))
	require.NoError(t, err)
	require.True(t, want[0].Truncated)
	status, data = call(t, "POST", hs.URL+"/predict", `{"adapter": "sst2", "inputs": "`+long+`", "raw_scores": true}`)
	require.Equal(t, 200, status, "%s", data)
	var got []Score
	require.NoError(t, json.Unmarshal(data, &got))
	checkScores(t, tasks["sst2"], &want[0], got, true)

	status, data = call(t, "GET", hs.URL+"/metrics", "")
	require.Equal(t, 200, status)
	text := string(data)
	for _, name := range []string{
		`petl_requests_total{code="200",task="sst2"} 1`,
		`petl_request_duration_seconds_bucket{task="sst2",le="+Inf"} 1`,
		`petl_inputs_total{task="sst2"} 1`,
		`petl_batch_requests_count 1`,
		`petl_batch_tokens_sum 16`,
		`petl_queue_depth 0`,
		`petl_tasks 3`,
		`go_goroutines`,
	} {
		assert.Contains(t, text, name)
	}
}

// TestServeOptions: bad options are errors; NoBatching means one input a pass.
func TestServeOptions(t *testing.T) {
	b := testBase(t, 3)
	for _, o := range []Options{{MaxBatchTokens: -1}, {MaxBatchRequests: -1}, {QueueSize: -1}, {MaxBodyBytes: -1}, {MaxInputs: -1}, {MaxLen: 1}, {QueueSize: 2, MaxInputs: 3}} {
		_, err := New(b, o)
		assert.Error(t, err, "%+v", o)
	}
	s, err := New(b, Options{NoBatching: true})
	require.NoError(t, err)
	defer s.Shutdown(context.Background())
	assert.Equal(t, 1, s.Options().MaxBatchRequests)
	assert.Equal(t, time.Duration(0), s.Options().MaxWait)
}
