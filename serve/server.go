// Package serve serves the tasks loaded on one petl.Base over HTTP: one
// frozen BERT, many adapters, a task chosen per request.
//
// The API has the shape of Hugging Face text-embeddings-inference's
// /predict, with the task named per request:
//
//	POST /predict              {"adapter": "sst2", "inputs": "a fine film", "raw_scores": false}
//	POST /tasks/NAME/predict   {"inputs": ...}
//	GET  /tasks, /tasks/NAME   the tasks and what they are
//	GET  /health               200 while serving, 503 while shutting down
//	GET  /info                 the base, the kernels, the limits, the version
//	GET  /metrics              Prometheus metrics
//
// "inputs" is a text, a list of texts, a pair ["a", "b"] or a list of pairs
// [["a", "b"], ...]: for a pair task a flat list of two texts is one pair,
// for a single-text task a flat list is a batch of texts. One input is
// answered with a list of every class's Score, highest first; a batch with
// a list of such lists. docs/serving.md has the details and every status.
//
// Handlers are thin: they validate, tokenise (petl.Task.Encode) and queue
// the request with a reply channel. One batching loop takes inputs of any
// tasks from the queue, up to a token budget and a number of inputs,
// waiting a little after the first for more, runs them in one forward pass
// (petl.Base.Run) and answers each request. A full queue is refused at
// once (503), and a client that goes away has its queued inputs skipped.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Options' zero fields.
const (
	DefaultMaxBatchTokens   = petl.DefaultBatchTokens
	DefaultMaxBatchRequests = 128
	DefaultMaxWait          = 0 // continuous batching: inputs that queue while a pass runs form the next one
	DefaultQueueSize        = 1024
	DefaultMaxBodyBytes     = 1 << 20
	DefaultMaxInputs        = 64
)

// Options are a Server's limits and settings; a zero field takes its
// default.
type Options struct {
	// MaxBatchTokens bounds the wordpieces of one forward pass (an input
	// longer than that runs alone). Default DefaultMaxBatchTokens.
	MaxBatchTokens int
	// MaxBatchRequests bounds the inputs of one forward pass; 1 switches
	// batching off. Default DefaultMaxBatchRequests.
	MaxBatchRequests int
	// MaxWait is how long the batching loop waits for more inputs after
	// the first of a batch arrived; 0 (the default) or a negative value
	// does not wait: the loop takes what is queued, and what arrives
	// while a pass runs makes the next batch, so batches grow with the
	// load and a lone request pays no wait.
	MaxWait time.Duration
	// QueueSize bounds the inputs waiting for a forward pass; a request
	// whose inputs do not fit is refused at once (503). Default
	// DefaultQueueSize.
	QueueSize int
	// MaxBodyBytes bounds a request's body (413). Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxInputs bounds the inputs of one request (413). Default
	// DefaultMaxInputs.
	MaxInputs int
	// MaxLen caps every task's sequence length (inputs are truncated to
	// the smaller of it and the task's max_len); 0 keeps each task's.
	MaxLen int
	// NoBatching runs every input in a forward pass of its own
	// (MaxBatchRequests 1, no waiting): the baseline batching is measured
	// against.
	NoBatching bool
	// AdaptersDir is the folder Reload reads (NAME.json with its weights
	// file; the task is called NAME); "" for none.
	AdaptersDir string
	// Version is what /info reports; "" takes the module's version and
	// revision from the build.
	Version string
	// Log receives the server's own errors (failed forward passes, HTTP
	// errors); nil discards them.
	Log *log.Logger
}

// withDefaults checks o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxBatchTokens < 0:
		return o, fmt.Errorf("serve: MaxBatchTokens %d: want a positive number (0 for %d)", o.MaxBatchTokens, DefaultMaxBatchTokens)
	case o.MaxBatchRequests < 0:
		return o, fmt.Errorf("serve: MaxBatchRequests %d: want a positive number (0 for %d)", o.MaxBatchRequests, DefaultMaxBatchRequests)
	case o.QueueSize < 0:
		return o, fmt.Errorf("serve: QueueSize %d: want a positive number (0 for %d)", o.QueueSize, DefaultQueueSize)
	case o.MaxBodyBytes < 0:
		return o, fmt.Errorf("serve: MaxBodyBytes %d: want a positive number (0 for %d)", o.MaxBodyBytes, DefaultMaxBodyBytes)
	case o.MaxInputs < 0:
		return o, fmt.Errorf("serve: MaxInputs %d: want a positive number (0 for %d)", o.MaxInputs, DefaultMaxInputs)
	case o.MaxLen < 0 || o.MaxLen == 1:
		return o, fmt.Errorf("serve: MaxLen %d: want at least 2 wordpieces (0 keeps each task's)", o.MaxLen)
	}
	if o.MaxBatchTokens == 0 {
		o.MaxBatchTokens = DefaultMaxBatchTokens
	}
	if o.MaxBatchRequests == 0 {
		o.MaxBatchRequests = DefaultMaxBatchRequests
	}
	if o.MaxWait < 0 {
		o.MaxWait = 0
	}
	if o.NoBatching {
		o.MaxBatchRequests, o.MaxWait = 1, 0
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxInputs == 0 {
		o.MaxInputs = DefaultMaxInputs
	}
	if o.QueueSize < o.MaxInputs {
		return o, fmt.Errorf("serve: QueueSize %d is smaller than MaxInputs %d: a full request could never be queued", o.QueueSize, o.MaxInputs)
	}
	return o, nil
}

// Server serves the tasks of a petl.Base: it is an http.Handler, with a
// batching loop running from New until Shutdown. Every task loaded on the
// base is served, whoever loaded it; Load and Reload load tasks too.
type Server struct {
	base *petl.Base
	opts Options
	log  *log.Logger
	m    *metrics
	prom http.Handler
	q    *queue
	run  func([]petl.Encoded, []petl.Prediction) error // Base.Run; tests block it

	stop     chan struct{} // closed by Shutdown: the loop returns once idle
	stopOnce sync.Once
	loopDone chan struct{} // closed when the loop has returned

	mu       sync.Mutex
	draining bool
	active   sync.WaitGroup // predict handlers under way
	hs       *http.Server   // set by Serve

	reloadMu sync.Mutex
	explicit map[string]string  // tasks loaded by Load: name -> path
	fromDir  map[string]dirTask // tasks loaded by Reload from AdaptersDir

	capMu  sync.Mutex
	capped map[string][2]*petl.Task // name -> {task on the base, task with MaxLen applied}
}

// New makes a Server over base and starts its batching loop; Shutdown
// stops it. It does not read opts.AdaptersDir: call Reload for that.
func New(base *petl.Base, opts Options) (*Server, error) {
	return newServer(base, opts, base.Run)
}

func newServer(base *petl.Base, opts Options, run func([]petl.Encoded, []petl.Prediction) error) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		base:     base,
		opts:     opts,
		log:      opts.Log,
		run:      run,
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
		explicit: map[string]string{},
		fromDir:  map[string]dirTask{},
		capped:   map[string][2]*petl.Task{},
	}
	if s.log == nil {
		s.log = log.New(io.Discard, "", 0)
	}
	s.m = newMetrics(func() float64 { return float64(len(base.Tasks())) })
	s.prom = promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{ErrorLog: s.log})
	s.q = newQueue(opts.QueueSize, func(n int) { s.m.queue.Set(float64(n)) })
	go s.loop()
	return s, nil
}

// Options returns the server's options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Base is the base the server serves.
func (s *Server) Base() *petl.Base { return s.base }

// ServeHTTP routes a request (see the package documentation).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/predict":
		if allow(w, r, http.MethodPost) {
			s.predict(w, r, "")
		}
	case path == "/tasks":
		if allow(w, r, http.MethodGet) {
			s.tasks(w)
		}
	case strings.HasPrefix(path, "/tasks/"):
		name, rest, _ := strings.Cut(strings.TrimPrefix(path, "/tasks/"), "/")
		switch {
		case rest == "predict" && name != "":
			if allow(w, r, http.MethodPost) {
				s.predict(w, r, name)
			}
		case rest == "" && name != "" && !strings.HasSuffix(path, "/"):
			if allow(w, r, http.MethodGet) {
				s.task(w, name)
			}
		default:
			writeError(w, errorf(http.StatusNotFound, TypeNotFound, "no such path %s", path))
		}
	case path == "/health":
		if allow(w, r, http.MethodGet) {
			s.health(w)
		}
	case path == "/info":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, s.Info())
		}
	case path == "/metrics":
		if allow(w, r, http.MethodGet) {
			s.prom.ServeHTTP(w, r)
		}
	default:
		writeError(w, errorf(http.StatusNotFound, TypeNotFound, "no such path %s (try POST /predict, GET /tasks, /health, /info, /metrics)", path))
	}
}

// allow answers 405 unless r's method is method (GET allows HEAD).
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	allowed := method
	if method == http.MethodGet {
		allowed += ", " + http.MethodHead
	}
	w.Header().Set("Allow", allowed)
	writeError(w, errorf(http.StatusMethodNotAllowed, TypeMethodNotAllowed, "%s %s: use %s", r.Method, r.URL.Path, method))
	return false
}

// writeJSON answers v as JSON with status; it returns the status written.
func writeJSON(w http.ResponseWriter, status int, v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(Error{Error: fmt.Sprintf("encoding the answer: %v", err), Type: TypeBackend})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
	return status
}

func writeError(w http.ResponseWriter, e *apiError) int {
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	return writeJSON(w, e.status, e.body)
}

// statusClientGone is recorded for a request whose client went away
// before its answer (as nginx logs it); nothing is written.
const statusClientGone = 499

// enter admits a predict request unless the server is shutting down.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.active.Add(1)
	return true
}

// predict answers a predict request for the task named by the path (or,
// when pathTask is "", by the body's "adapter").
func (s *Server) predict(w http.ResponseWriter, r *http.Request, pathTask string) {
	start := time.Now()
	label, status := "", 0
	defer func() {
		s.m.requests.WithLabelValues(label, strconv.Itoa(status)).Inc()
		s.m.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	}()
	if !s.enter() {
		status = writeError(w, errorf(http.StatusServiceUnavailable, TypeUnavailable, "the server is shutting down"))
		return
	}
	defer s.active.Done()
	t, single, raw, j, aerr := s.prepare(w, r, pathTask)
	if t != nil {
		label = t.Name()
	}
	if aerr != nil {
		status = writeError(w, aerr)
		return
	}
	if err := s.q.push(j); err != nil {
		status = writeError(w, errorf(http.StatusServiceUnavailable, TypeOverloaded,
			"the queue is full (%d inputs waiting at most): retry later", s.opts.QueueSize))
		return
	}
	var err error
	select {
	case err = <-j.done:
	case <-r.Context().Done():
		status = statusClientGone
		return
	case <-s.loopDone:
		// The loop's last pass may have answered this job just before it
		// returned: both are ready then, and the answer wins.
		select {
		case err = <-j.done:
		default:
			status = writeError(w, errorf(http.StatusServiceUnavailable, TypeUnavailable, "the server shut down before the request ran"))
			return
		}
	}
	if err != nil {
		s.log.Printf("serve: task %s: %v", label, err)
		if errors.Is(err, petl.ErrClosed) {
			status = writeError(w, errorf(http.StatusServiceUnavailable, TypeUnavailable, "the model was closed"))
		} else {
			status = writeError(w, errorf(http.StatusInternalServerError, TypeBackend, "running the model: %v", err))
		}
		return
	}
	s.m.inputs.WithLabelValues(label).Add(float64(len(j.preds)))
	if single {
		status = writeJSON(w, http.StatusOK, scores(t, &j.preds[0], raw))
		return
	}
	out := make([][]Score, len(j.preds))
	for i := range j.preds {
		out[i] = scores(t, &j.preds[i], raw)
	}
	status = writeJSON(w, http.StatusOK, out)
}

// prepare reads, checks and tokenises a predict request into a job. The
// task is returned as soon as it is known, errors or not.
func (s *Server) prepare(w http.ResponseWriter, r *http.Request, pathTask string) (t *petl.Task, single, raw bool, j *job, aerr *apiError) {
	body, aerr := readBody(w, r, s.opts.MaxBodyBytes)
	if aerr != nil {
		return nil, false, false, nil, aerr
	}
	req, aerr := decodeRequest(body)
	if aerr != nil {
		return nil, false, false, nil, aerr
	}
	name := pathTask
	switch {
	case pathTask != "" && req.hasAdapter && req.adapter != pathTask:
		return nil, false, false, nil, errorf(http.StatusUnprocessableEntity, TypeValidation, "\"adapter\" %q contradicts the path's task %q: leave it out", req.adapter, pathTask)
	case pathTask == "" && (!req.hasAdapter || req.adapter == ""):
		return nil, false, false, nil, errorf(http.StatusUnprocessableEntity, TypeValidation, "no task: name one with \"adapter\" (loaded: %s) or POST to /tasks/NAME/predict", s.names())
	case pathTask == "":
		name = req.adapter
	}
	t, err := s.base.Task(name)
	if err != nil {
		return nil, false, false, nil, errorf(http.StatusNotFound, TypeUnknownTask, "no task %q is loaded (loaded: %s)", name, s.names())
	}
	t = s.cap(t)
	ins, single, aerr := req.inputs.forTask(t.Name(), t.Pair())
	if aerr != nil {
		return t, false, false, nil, aerr
	}
	if len(ins) > s.opts.MaxInputs {
		return t, false, false, nil, errorf(http.StatusRequestEntityTooLarge, TypeTooManyInputs, "%d inputs: at most %d per request (--max-inputs)", len(ins), s.opts.MaxInputs)
	}
	j = &job{ctx: r.Context(), encs: make([]petl.Encoded, len(ins)), preds: make([]petl.Prediction, len(ins)), done: make(chan error, 1)}
	for i, in := range ins {
		where := ""
		if !single {
			where = fmt.Sprintf("inputs[%d]: ", i)
		}
		e, err := t.Encode(in)
		if err != nil {
			return t, false, false, nil, errorf(http.StatusUnprocessableEntity, TypeValidation, "%s%v", where, err)
		}
		if e.Truncated && !req.truncate {
			return t, false, false, nil, errorf(http.StatusUnprocessableEntity, TypeValidation, "%sinput is longer than task %s's %d wordpieces and \"truncate\" is false", where, t.Name(), t.MaxLen())
		}
		j.encs[i] = e
	}
	j.enqueued = time.Now()
	return t, single, req.rawScores, j, nil
}

// cap returns t with Options.MaxLen applied (a copy made once per task).
func (s *Server) cap(t *petl.Task) *petl.Task {
	if s.opts.MaxLen == 0 || s.opts.MaxLen >= t.MaxLen() {
		return t
	}
	s.capMu.Lock()
	defer s.capMu.Unlock()
	if c, ok := s.capped[t.Name()]; ok && c[0] == t {
		return c[1]
	}
	c, err := t.WithMaxLen(s.opts.MaxLen)
	if err != nil { // MaxLen is over the base's positions: t's own is smaller
		return t
	}
	s.capped[t.Name()] = [2]*petl.Task{t, c}
	return c
}

// names lists the loaded tasks for messages.
func (s *Server) names() string {
	ts := s.base.Tasks()
	if len(ts) == 0 {
		return "none"
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name()
	}
	return strings.Join(names, ", ")
}

func (s *Server) health(w http.ResponseWriter) {
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		writeError(w, errorf(http.StatusServiceUnavailable, TypeUnavailable, "the server is shutting down"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "tasks": len(s.base.Tasks())})
}

// TaskInfo describes a served task (GET /tasks).
type TaskInfo struct {
	Name            string   `json:"name"`
	Task            string   `json:"task"`      // the task key: sst2, mrpc, tsv, ...
	TaskName        string   `json:"task_name"` // its display name: SST-2, ...
	Labels          []string `json:"labels"`    // class names in class order; [] for regression
	Pair            bool     `json:"pair"`
	Regression      bool     `json:"regression"`
	Method          string   `json:"method"`                 // adapter, ln-head, top-k, full
	AdapterSize     int      `json:"adapter_size,omitempty"` // the bottleneck, for adapters
	TrainedParams   int      `json:"trained_params"`
	MaxLen          int      `json:"max_len"` // what inputs are truncated to (after Options.MaxLen)
	Lowercase       bool     `json:"lowercase"`
	BaseFingerprint string   `json:"base_fingerprint"`
	Source          string   `json:"source"` // "adapter" (Load), "adapters_dir" (Reload) or "base" (loaded by the caller)
	File            string   `json:"file"`   // the adapter's JSON file
}

// Tasks describes the served tasks, sorted by name.
func (s *Server) Tasks() []TaskInfo {
	ts := s.base.Tasks()
	out := make([]TaskInfo, len(ts))
	for i, t := range ts {
		out[i] = s.taskInfo(t)
	}
	return out
}

func (s *Server) taskInfo(t *petl.Task) TaskInfo {
	c := t.File()
	info := TaskInfo{
		Name: t.Name(), Task: c.Task, TaskName: t.Spec().Name, Labels: t.Labels(), Pair: t.Pair(), Regression: t.Regression(),
		Method: string(c.Method), TrainedParams: c.TrainedParams, MaxLen: s.cap(t).MaxLen(), Lowercase: c.Lowercase,
		BaseFingerprint: s.base.Fingerprint(), Source: "base", File: t.Path(),
	}
	if info.Labels == nil {
		info.Labels = []string{}
	}
	if c.Adapter != nil {
		info.AdapterSize = c.Adapter.Size
	}
	s.reloadMu.Lock()
	if _, ok := s.explicit[t.Name()]; ok {
		info.Source = "adapter"
	} else if _, ok := s.fromDir[t.Name()]; ok {
		info.Source = "adapters_dir"
	}
	s.reloadMu.Unlock()
	return info
}

func (s *Server) tasks(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, s.Tasks())
}

func (s *Server) task(w http.ResponseWriter, name string) {
	t, err := s.base.Task(name)
	if err != nil {
		writeError(w, errorf(http.StatusNotFound, TypeUnknownTask, "no task %q is loaded (loaded: %s)", name, s.names()))
		return
	}
	writeJSON(w, http.StatusOK, s.taskInfo(t))
}

// Info is what GET /info reports.
type Info struct {
	Version     string      `json:"version"`
	GoVersion   string      `json:"go_version"`
	ModelDir    string      `json:"model_dir"`
	Fingerprint string      `json:"fingerprint"`
	Config      bert.Config `json:"config"`
	Casing      string      `json:"casing"`
	Kernels     string      `json:"kernels"`   // the kernel variant: avx512, avx2, neon, generic
	Precision   string      `json:"precision"` // of the base's frozen dense products: fp32 or int8
	Threads     int         `json:"threads"`
	Batching    bool        `json:"batching"`
	Limits      Limits      `json:"limits"`
	AdaptersDir string      `json:"adapters_dir,omitempty"`
	Tasks       []string    `json:"tasks"`
}

// Limits are the server's limits as /info reports them.
type Limits struct {
	MaxBatchTokens   int    `json:"max_batch_tokens"`
	MaxBatchRequests int    `json:"max_batch_requests"`
	MaxWait          string `json:"max_wait"`
	QueueSize        int    `json:"queue_size"`
	MaxBodyBytes     int64  `json:"max_body_bytes"`
	MaxInputs        int    `json:"max_inputs"`
	MaxLen           int    `json:"max_len"` // 0: each task's own
}

// Info describes the server (GET /info).
func (s *Server) Info() Info {
	o := s.opts
	info := Info{
		Version: o.Version, GoVersion: runtime.Version(), ModelDir: s.base.Dir(), Fingerprint: s.base.Fingerprint(),
		Config: s.base.Config(), Casing: s.base.Casing().String(), Kernels: kernels.Active().String(), Threads: kernels.Threads(),
		Precision: s.base.Precision(),
		Batching:  o.MaxBatchRequests > 1,
		Limits: Limits{MaxBatchTokens: o.MaxBatchTokens, MaxBatchRequests: o.MaxBatchRequests, MaxWait: o.MaxWait.String(),
			QueueSize: o.QueueSize, MaxBodyBytes: o.MaxBodyBytes, MaxInputs: o.MaxInputs, MaxLen: o.MaxLen},
		AdaptersDir: o.AdaptersDir, Tasks: []string{},
	}
	if info.Version == "" {
		info.Version = Version()
	}
	for _, t := range s.base.Tasks() {
		info.Tasks = append(info.Tasks, t.Name())
	}
	return info
}

// Version is the petl module's version and VCS revision, as the build
// recorded them ("(devel)" and the revision for a build in the repository).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if bi.Main.Path != "github.com/petl-go/petl" {
		for _, d := range bi.Deps {
			if d.Path == "github.com/petl-go/petl" {
				v = d.Version
			}
		}
	}
	var rev, modified string
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.modified":
			if st.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " " + rev + modified
	}
	if v == "" {
		v = "unknown"
	}
	return v
}

// Serve answers HTTP requests on l until Shutdown, like http.Server.Serve
// (with header and idle timeouts); it returns http.ErrServerClosed after
// Shutdown.
func (s *Server) Serve(l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: s.log}
	s.mu.Lock()
	if s.draining || s.hs != nil {
		s.mu.Unlock()
		l.Close()
		if s.hs != nil {
			return errors.New("serve: Serve called twice")
		}
		return http.ErrServerClosed
	}
	s.hs = hs
	s.mu.Unlock()
	return hs.Serve(l)
}

// Shutdown stops the server gracefully: /health answers 503 and new
// predict requests are refused (503), the listener of Serve is closed,
// requests in flight and queued are answered, and the batching loop
// stops. If ctx ends first, Shutdown returns ctx's error at once and the
// loop stops after answering what is queued. The base is not closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	hs := s.hs
	s.mu.Unlock()
	var err error
	if hs != nil {
		err = hs.Shutdown(ctx) // closes the listener, waits for the handlers
	}
	idle := make(chan struct{})
	go func() {
		s.active.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		err = cmpErr(err, ctx.Err())
	}
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.loopDone:
	case <-ctx.Done():
		err = cmpErr(err, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
