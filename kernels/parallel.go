package kernels

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// parallelFor calls f on disjoint ranges [lo, hi) covering [0, n), each of at
// least grain items (except possibly the last), over at most opThreads()
// goroutines. The split depends only on n, grain and the thread count, and f
// must write only outputs owned by its range, so results do not depend on
// scheduling.
func parallelFor(n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	splitFor(min(opThreads(), (n+grain-1)/grain), n, f)
}

// splitFor runs f over [0, n) in chunks of equal size on at most workers
// goroutines, the caller's among them.
func splitFor(workers, n int, f func(lo, hi int)) {
	if workers <= 1 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	workers = (n + chunk - 1) / chunk
	t := forTasks.get()
	t.n, t.chunk, t.f = n, chunk, f
	runWorkers(workers, t, &t.group)
	t.f = nil
	forTasks.put(t)
}

// inParallel counts the ParallelFor calls running.
var inParallel atomic.Int32

// opThreads is how many goroutines an operation may split its work over:
// Threads(), or 1 while a ParallelFor runs (its callers split the work).
func opThreads() int {
	if inParallel.Load() > 0 {
		return 1
	}
	return Threads()
}

// ParallelFor calls f on disjoint ranges [lo, hi) covering [0, n), of equal
// size but possibly the last, over at most Threads() goroutines (the
// caller's among them), and returns when every call has. It is for work made
// of independent pieces too small to split well one by one (for example the
// heads of attention, each a few small products): while it runs, the
// kernels called from f, and from anywhere else in the process, run on their
// caller's goroutine alone instead of splitting again. Results do not depend
// on that, as they do not on the thread count; so does a ParallelFor
// called while another runs. f must write only what its range owns.
func ParallelFor(n int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := min(opThreads(), n)
	if workers <= 1 {
		f(0, n)
		return
	}
	inParallel.Add(1)
	defer inParallel.Add(-1)
	splitFor(workers, n, f)
}

// Jobs runs a function over ranges of [0, n) on several goroutines, as
// ParallelFor does, with the call's arguments passed as a value of type A
// rather than captured by a closure. A closure handed to other goroutines
// is allocated on the heap at every call; a Jobs keeps a free list of
// argument holders, each with its body bound once, so that a steady state
// of calls allocates nothing (the list grows only while more calls than
// ever before run at once). A Jobs is safe for concurrent use; make one per
// function with NewJobs and keep it (a package-level variable).
type Jobs[A any] struct {
	fn   func(a *A, lo, hi int)
	jobs freeList[job[A]]
}

// job holds the arguments of one Jobs call and the closure, made once,
// that applies the Jobs' function to them.
type job[A any] struct {
	args A
	body func(lo, hi int)
}

// NewJobs returns a Jobs that runs fn(&args, lo, hi) on the ranges of a
// call. fn must write only what its range owns.
func NewJobs[A any](fn func(a *A, lo, hi int)) *Jobs[A] {
	return &Jobs[A]{fn: fn}
}

// Run calls fn(&args, lo, hi) on disjoint ranges covering [0, n), as
// ParallelFor(n, ...) does: over at most Threads() goroutines, the kernels
// called meanwhile running on their caller's goroutine alone.
func (j *Jobs[A]) Run(n int, args A) {
	jb := j.get(args) // args itself must not escape: it would be allocated
	ParallelFor(n, jb.body)
	j.put(jb)
}

// split is parallelFor(n, grain, ...) with the arguments in args; callers
// call the kernel directly when serial(n, grain) holds.
func (j *Jobs[A]) split(n, grain int, args A) {
	jb := j.get(args)
	parallelFor(n, grain, jb.body)
	j.put(jb)
}

func (j *Jobs[A]) get(args A) *job[A] {
	jb := j.jobs.get()
	if jb.body == nil { // new
		jb.body = func(lo, hi int) { j.fn(&jb.args, lo, hi) }
	}
	jb.args = args
	return jb
}

func (j *Jobs[A]) put(jb *job[A]) {
	var zero A
	jb.args = zero // drop the references to the caller's slices
	j.jobs.put(jb)
}

// forTasks recycles splitFor's tasks: a steady state of calls allocates
// only what the caller's closure f needs (nothing through Jobs).
var forTasks freeList[forTask]

// freeList recycles values of type T: a steady state of get and put
// allocates nothing (unlike a sync.Pool, which also allocates when a
// goroutine moves between processors). Safe for concurrent use.
type freeList[T any] struct {
	mu   sync.Mutex
	free []*T
}

// get returns a recycled value, or a new zero one.
func (l *freeList[T]) get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		v := l.free[n-1]
		l.free = l.free[:n-1]
		return v
	}
	return new(T)
}

// put hands v back for a later get.
func (l *freeList[T]) put(v *T) {
	l.mu.Lock()
	l.free = append(l.free, v)
	l.mu.Unlock()
}

// forTask is parallelFor's work: worker w runs chunk w.
type forTask struct {
	n, chunk int
	f        func(lo, hi int)
	group    workerGroup
}

func (t *forTask) run(w int) {
	lo := w * t.chunk
	t.f(lo, min(lo+t.chunk, t.n))
}

// workerTask is work split over a fixed number of workers: run(w) is called
// once for every w in [0, workers).
type workerTask interface {
	run(w int)
}

// aborter is a workerTask whose workers may wait for each other (a
// barrier): abort releases every wait, now and later, when a worker has
// failed and will not arrive. The others finish their share on whatever the
// failed one left (the call's results are not used: it panics).
type aborter interface {
	abort()
}

// runWorkers calls t.run(w) for every w in [0, workers) and returns when all
// have returned. Worker 0 runs on the calling goroutine and every other worker
// on a goroutine of its own, all at the same time, so workers may wait for
// each other (see barrier). g, which must be idle, tracks the other workers;
// callers keep it next to t so that nothing is allocated here. The goroutines
// come from a pool that grows on demand and is never shrunk: a steady state of
// calls starts no goroutines and does not allocate. Nested calls are safe.
//
// A memory fault in a worker (reading a memory-mapped file that another
// program truncated: SIGBUS) is not fatal: every worker runs with
// runtime/debug.SetPanicOnFault(true) and recovers a fault (catch), the
// workers waiting for it are released (aborter), and once all have returned
// runWorkers panics with the fault on the calling goroutine, where a guard
// (safetensors.Guard, petl.Base.Guard) turns it into an error naming the
// file. A panic on a goroutine other than the one that recovers it would
// kill the process. Other panics are not recovered.
func runWorkers(workers int, t workerTask, g *workerGroup) {
	if workers <= 1 {
		t.run(0)
		return
	}
	g.add(workers - 1)
	for w := 1; w < workers; w++ {
		pool.submit(poolJob{t: t, w: w, g: g})
	}
	catchOnCaller(t, g)
	g.wait()
	if g.faulted.Load() {
		panic(g.takeFault())
	}
}

// catch runs worker w of t on a goroutine that panics on memory faults
// (runtime/debug.SetPanicOnFault); a fault is recorded in g, and t's other
// workers released, instead of going on up the stack.
func catch(t workerTask, w int, g *workerGroup) {
	defer func() {
		if r := recover(); r != nil {
			if !isFault(r) {
				panic(r)
			}
			g.setFault(r)
			if a, ok := t.(aborter); ok {
				a.abort()
			}
		}
	}()
	t.run(w)
}

// catchOnCaller runs worker 0 of t on the calling goroutine as catch does,
// restoring the goroutine's own SetPanicOnFault setting afterwards.
func catchOnCaller(t workerTask, g *workerGroup) {
	prev := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(prev)
	catch(t, 0, g)
}

// isFault reports whether a recovered value is a memory fault: what
// SetPanicOnFault turns SIGBUS and SIGSEGV into (a runtime.Error with the
// fault's address), or a runtime error about an invalid memory address,
// which is how a fault reported without its address (as qemu's user-mode
// emulation reports SIGBUS) arrives. Either is handed back to the caller,
// which panics with it (a guard turns a fault at an address into an
// error); leaving it on a worker's goroutine would kill the process.
func isFault(r any) bool {
	e, isErr := r.(runtime.Error)
	if !isErr {
		return false
	}
	if _, hasAddr := r.(interface{ Addr() uintptr }); hasAddr {
		return true
	}
	return strings.Contains(e.Error(), "invalid memory address")
}

// spinFor is how long a goroutine that waits for other workers (or, in the
// pool, for new work) keeps checking before it parks. Waking a parked
// goroutine on another core takes tens of microseconds, as long as a whole
// small product; back-to-back kernel calls find the workers still awake.
const spinFor = 50 * time.Microsecond

// spinUntil returns true as soon as done() does, or false after spinFor.
// It yields the processor now and then, so that it never keeps a runnable
// goroutine from running.
func spinUntil(done func() bool) bool {
	start := time.Now()
	for i := 1; ; i++ {
		if done() {
			return true
		}
		if i%64 == 0 {
			if time.Since(start) > spinFor {
				return false
			}
			runtime.Gosched()
		}
	}
}

// workerGroup counts the workers of one runWorkers call still running, and
// holds the first memory fault one of them recovered.
type workerGroup struct {
	left atomic.Int32
	wg   sync.WaitGroup

	faulted atomic.Bool
	mu      sync.Mutex
	fault   any // under mu
}

// setFault records a worker's fault (the first one counts).
func (g *workerGroup) setFault(r any) {
	g.mu.Lock()
	if g.fault == nil {
		g.fault = r
	}
	g.mu.Unlock()
	g.faulted.Store(true)
}

// takeFault returns the recorded fault and clears it (g is idle: its
// workers have returned).
func (g *workerGroup) takeFault() any {
	g.mu.Lock()
	r := g.fault
	g.fault = nil
	g.mu.Unlock()
	g.faulted.Store(false)
	return r
}

func (g *workerGroup) add(n int) {
	g.left.Add(int32(n))
	g.wg.Add(n)
}

func (g *workerGroup) done() {
	g.left.Add(-1)
	g.wg.Done()
}

// wait returns when every worker has called done.
func (g *workerGroup) wait() {
	spinUntil(func() bool { return g.left.Load() == 0 })
	g.wg.Wait() // immediate if the spin saw them finish
}

// poolJob is one worker's share of a runWorkers call.
type poolJob struct {
	t workerTask
	w int
	g *workerGroup
}

// workerPool hands jobs to idle goroutines, starting a new one when none is
// idle, so that a job never waits behind another.
type workerPool struct {
	// idle counts goroutines committed to receiving from jobs: a sender that
	// decrements it from a positive value may send without blocking.
	idle atomic.Int64
	jobs chan poolJob
}

// maxPooled bounds the idle goroutines the jobs channel can serve without
// blocking; beyond it, extra goroutines exit instead of waiting.
const maxPooled = 1024

var pool = workerPool{jobs: make(chan poolJob, maxPooled)}

func (p *workerPool) submit(j poolJob) {
	for {
		n := p.idle.Load()
		if n <= 0 {
			go p.loop(j)
			return
		}
		if p.idle.CompareAndSwap(n, n-1) {
			p.jobs <- j
			return
		}
	}
}

// loop runs j, then serves jobs until the pool is full. Its goroutine
// panics on memory faults, which catch recovers and hands to the caller.
func (p *workerPool) loop(j poolJob) {
	debug.SetPanicOnFault(true)
	for {
		catch(j.t, j.w, j.g)
		// Count this goroutine idle before signalling completion, so that a
		// caller that returns from its wait and immediately submits again
		// finds it idle instead of starting another goroutine.
		stay := p.idle.Add(1) <= maxPooled
		if !stay {
			p.idle.Add(-1)
		}
		j.g.done()
		if !stay {
			return
		}
		// Stay awake a little for the next job, then park.
		got := spinUntil(func() bool {
			select {
			case j = <-p.jobs:
				return true
			default:
				return false
			}
		})
		if !got {
			j = <-p.jobs
		}
	}
}

// barrier makes a fixed number of goroutines wait for each other; it can be
// reused for any number of rounds.
type barrier struct {
	mu     sync.Mutex
	cond   sync.Cond
	n      int           // parties
	count  int           // arrived in this round, under mu
	round  atomic.Uint64 // rounds completed
	broken atomic.Bool   // abort was called: nobody waits any more
}

// reset prepares b for n parties; no goroutine may be waiting on it.
func (b *barrier) reset(n int) {
	b.mu.Lock()
	b.cond.L = &b.mu
	b.n, b.count = n, 0
	b.broken.Store(false)
	b.mu.Unlock()
}

// abort releases the parties waiting now, and makes every later wait
// return at once until the next reset: a party has failed and will not
// arrive.
func (b *barrier) abort() {
	b.mu.Lock()
	b.broken.Store(true)
	b.mu.Unlock()
	b.cond.Broadcast()
}

// wait blocks until all n parties have called wait in this round (or the
// barrier was aborted).
func (b *barrier) wait() {
	if b.n <= 1 || b.broken.Load() {
		return
	}
	b.mu.Lock()
	r := b.round.Load()
	b.count++
	if b.count == b.n {
		b.count = 0
		b.round.Add(1)
		b.mu.Unlock()
		b.cond.Broadcast()
		return
	}
	b.mu.Unlock()
	if spinUntil(func() bool { return b.round.Load() != r || b.broken.Load() }) {
		return
	}
	b.mu.Lock()
	for b.round.Load() == r && !b.broken.Load() {
		b.cond.Wait()
	}
	b.mu.Unlock()
}
