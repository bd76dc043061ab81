package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/serve"
)

func init() {
	commands["serve"] = command{"serve adapters over HTTP: one base, many tasks, batched predictions", runServe}
	docs["serve"] = doc{
		usage: "petl serve [--adapter NAME=FILE]... [--adapters DIR] [flags]",
		text: `Serve loads a base model once and serves predictions of any number of tasks over
HTTP, the task chosen per request: POST /predict with {"adapter": "NAME", "inputs":
...} (the shape of Hugging Face text-embeddings-inference's /predict) or POST
/tasks/NAME/predict; GET /tasks, /health, /info and /metrics (Prometheus).
docs/serving.md describes the API, its status codes, limits and metrics.

Tasks are the adapters given with --adapter NAME=FILE (FILE alone takes its file
name) and every NAME.json in --adapters DIR. Requests that arrive together share a
forward pass, whatever their tasks, up to --max-batch-tokens and
--max-batch-requests inputs, waiting at most --max-wait for more after the first; a
request whose inputs do not fit in the --queue is refused at once with 503.

SIGHUP re-reads --adapters DIR: new and changed files are loaded, tasks whose file
is gone are removed, without dropping a request. SIGTERM or Ctrl-C stops accepting
requests, finishes those in flight (within --drain-timeout) and exits 0.`,
		examples: []string{
			"# the two adapters shipped with petl, on the shipped BERT-tiny (the default base)",
			"petl serve --adapter sst2=models/adapters/sst2 --adapter mrpc=models/adapters/mrpc",
			"# every adapter in a folder, on another port; kill -HUP reloads the folder",
			"petl serve --model DIR --adapters out/adapters --addr 127.0.0.1:9000 --threads 2",
		},
	}
}

// adapterFlags collects repeated --adapter NAME=FILE values.
type adapterFlags []namedAdapter

type namedAdapter struct{ name, path string }

func (a *adapterFlags) String() string {
	var parts []string
	for _, n := range *a {
		parts = append(parts, n.name+"="+n.path)
	}
	return strings.Join(parts, ",")
}

// Set reads NAME=FILE, or FILE alone, named by its file name without
// extension.
func (a *adapterFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		path = v
		_, cfg := adapter.Paths(v)
		name = strings.TrimSuffix(filepath.Base(cfg), ".json")
	}
	if path == "" {
		return fmt.Errorf("%q: want NAME=FILE", v)
	}
	for _, n := range *a {
		if n.name == name {
			return fmt.Errorf("task %s is given twice", name)
		}
	}
	*a = append(*a, namedAdapter{name, path})
	return nil
}

// serveEnv is what runServe talks to besides its flags: tests give their
// own.
type serveEnv struct {
	log       io.Writer           // the start line, one line per reload, errors
	listening func(addr net.Addr) // told the address once listening; may be nil
	hup       <-chan os.Signal    // reload requests; nil listens for SIGHUP
}

func runServe(ctx context.Context, args []string) error {
	return serveMain(ctx, args, serveEnv{log: errOut})
}

func serveMain(ctx context.Context, args []string, env serveEnv) error {
	fs := newFlagSet("serve")
	model := fs.String("model", "", "base model: a checkpoint directory (default $"+envModel+", else the shipped BERT-tiny)")
	var adapters adapterFlags
	fs.Var(&adapters, "adapter", "a task: `NAME=FILE`, an adapter written by petl train served as task NAME (FILE alone: named by its file name); repeatable")
	dir := fs.String("adapters", "", "a folder, `DIR`, of adapters (NAME.json with its weights), each served as task NAME; SIGHUP re-reads it")
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on (port 0: any free port)")
	maxTokens := fs.Int("max-batch-tokens", serve.DefaultMaxBatchTokens, "most wordpieces in one forward pass")
	maxReqs := fs.Int("max-batch-requests", serve.DefaultMaxBatchRequests, "most inputs in one forward pass (1: no batching)")
	maxWait := fs.Duration("max-wait", serve.DefaultMaxWait, "how long to wait for more inputs after the first of a batch arrived (0: do not wait)")
	queue := fs.Int("queue", serve.DefaultQueueSize, "most inputs waiting for a forward pass; a request that does not fit is refused with 503")
	maxBody := fs.Int64("max-body", serve.DefaultMaxBodyBytes, "largest request body in `bytes` (413 above)")
	maxInputs := fs.Int("max-inputs", serve.DefaultMaxInputs, "most inputs in one request (413 above)")
	maxLen := fs.Int("max-len", 0, "cap on every task's sequence length in wordpieces (0: each adapter's own max_len)")
	threads := fs.Int("threads", 0, "threads for the kernels (0: the default)")
	pack := fs.String("pack", "auto", "pack the base model's dense weights for the kernels once, into a memory-mapped file reused by later runs: auto (a file in the user's cache directory, petl/packed/; skipped with a warning if it cannot be written), off, or a file path")
	precision := fs.String("precision", "fp32", precisionHelp)
	noBatching := fs.Bool("no-batching", false, "run every input in a forward pass of its own (the baseline for batching)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM or Ctrl-C, how long to wait for requests in flight")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := firstError(
		positive("max-batch-tokens", *maxTokens), positive("max-batch-requests", *maxReqs), positive("queue", *queue),
		positive("max-inputs", *maxInputs), nonNegative("threads", *threads, "the default"), nonNegative("max-len", *maxLen, "each adapter's own"),
	); err != nil {
		return err
	}
	switch {
	case *maxBody <= 0:
		return badFlag("--max-body %d: want a positive number of bytes", *maxBody)
	case *maxWait < 0:
		return badFlag("--max-wait %v: want 0 (do not wait) or more", *maxWait)
	case *drain <= 0:
		return badFlag("--drain-timeout %v: want a positive duration", *drain)
	case *maxLen == 1 || *maxLen == 2:
		return badFlag("--max-len %d: want 3 or more (0: each adapter's own)", *maxLen)
	case *queue < *maxInputs:
		return badFlag("--queue %d is smaller than --max-inputs %d: a full request could never be queued", *queue, *maxInputs)
	case len(adapters) == 0 && *dir == "":
		return badFlag("no tasks: pass --adapter NAME=FILE (repeatable) or --adapters DIR")
	}
	if err := setThreads(*threads); err != nil {
		return err
	}
	if err := checkPrecision(*precision); err != nil {
		return err
	}
	wait := *maxWait
	logger := log.New(env.log, "petl serve: ", log.LstdFlags)

	base, err := interruptible(ctx, func() (*petl.Base, error) {
		return openFront(*model, "", 1, "auto", weightsMode{*pack, *precision})
	}, func(b *petl.Base) { b.Close() })
	if err != nil {
		return err
	}
	defer base.Close()
	srv, err := serve.New(base, serve.Options{
		MaxBatchTokens: *maxTokens, MaxBatchRequests: *maxReqs, MaxWait: wait, QueueSize: *queue,
		MaxBodyBytes: *maxBody, MaxInputs: *maxInputs, MaxLen: *maxLen, NoBatching: *noBatching,
		AdaptersDir: *dir, Log: logger,
	})
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped { // an error before serving: stop the batching loop
			srv.Shutdown(context.Background())
		}
	}()
	for _, a := range adapters {
		if _, err := srv.Load(a.name, a.path); err != nil {
			return err
		}
	}
	if *dir != "" {
		if _, err := srv.Reload(); err != nil {
			return err
		}
	}
	hup := env.hup
	if hup == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		hup = ch
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	info := srv.Info()
	tasks := "none"
	if len(info.Tasks) > 0 {
		tasks = strings.Join(info.Tasks, ", ")
	}
	waitText := "no wait"
	if w := srv.Options().MaxWait; w > 0 {
		waitText = w.String() + " wait"
	}
	batching := fmt.Sprintf("batches of up to %d tokens, %d inputs, %s", srv.Options().MaxBatchTokens, srv.Options().MaxBatchRequests, waitText)
	if !info.Batching {
		batching = "no batching"
	}
	logger.Printf("listening on http://%s: tasks %s; model %s; kernels %s, %d threads; %s", l.Addr(), tasks, base.Dir(), kernels.Active(), kernels.Threads(), batching)
	if env.listening != nil {
		env.listening(l.Addr())
	}
	for {
		select {
		case <-hup:
			ch, err := srv.Reload()
			if err != nil {
				logger.Printf("reload: %s; errors: %v", ch, err)
			} else {
				logger.Printf("reload: %s", ch)
			}
		case err := <-errc:
			stopped = true
			srv.Shutdown(context.Background())
			return fmt.Errorf("serving: %w", err)
		case <-ctx.Done():
			logger.Printf("shutting down: finishing the requests in flight (at most %v)", *drain)
			sctx, cancel := context.WithTimeout(context.Background(), *drain)
			err := srv.Shutdown(sctx)
			cancel()
			stopped = true
			if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
				err = serr
			}
			if err != nil {
				return err
			}
			logger.Printf("stopped")
			return nil
		}
	}
}
