package serve

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/petl-go/petl"
)

// errQueueFull and errDraining are why a job was not queued.
var (
	errQueueFull = errors.New("queue full")
	errDraining  = errors.New("shutting down")
)

// job is one predict request's inputs on their way through the queue: the
// handler fills encs and waits on done; the batching loop fills preds.
type job struct {
	ctx      context.Context // the client's; once done, the rest of the job is skipped
	encs     []petl.Encoded
	preds    []petl.Prediction // len(encs); written by the loop before done
	enqueued time.Time
	done     chan error // buffered: nil once every input is answered, else why not

	// Owned by the batching loop (taken under queue.mu).
	next   int  // the next input to take
	left   int  // inputs taken or not yet answered
	failed bool // answered with an error: the rest is dropped
}

// queue holds the jobs waiting for the batching loop, first come first
// served; its size is counted in inputs.
type queue struct {
	mu    sync.Mutex
	jobs  []*job // the head may be partly taken
	n     int    // inputs waiting
	limit int
	wake  chan struct{} // signalled (without blocking) when a job arrives
	depth func(n int)   // reports n after every change
}

func newQueue(limit int, depth func(int)) *queue {
	return &queue{limit: limit, wake: make(chan struct{}, 1), depth: depth}
}

// push queues j, or refuses it at once when its inputs do not fit.
func (q *queue) push(j *job) error {
	q.mu.Lock()
	if q.n+len(j.encs) > q.limit {
		q.mu.Unlock()
		return errQueueFull
	}
	j.left = len(j.encs)
	q.jobs = append(q.jobs, j)
	q.n += len(j.encs)
	q.depth(q.n)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// batch is a forward pass being gathered: inputs of any jobs.
type batch struct {
	encs   []petl.Encoded
	out    []petl.Prediction
	owner  []*job // owner[i] holds encs[i] as its input at[i]
	at     []int
	tokens int
	first  time.Time // when the oldest job in the batch arrived
	full   bool      // the next input would pass a limit
}

func (b *batch) reset() {
	clear(b.encs) // drop references to tasks and jobs
	clear(b.owner)
	b.encs, b.owner, b.at = b.encs[:0], b.owner[:0], b.at[:0]
	b.tokens, b.full = 0, false
}

// take moves inputs from the head of the queue into b while they fit in
// maxTokens and maxInputs (a first input always fits), dropping jobs whose
// client went away. It reports the inputs skipped.
func (q *queue) take(b *batch, maxTokens, maxInputs int) (skipped int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) > 0 && !b.full {
		j := q.jobs[0]
		if j.failed || j.ctx.Err() != nil {
			rest := len(j.encs) - j.next
			q.n -= rest
			skipped += rest
			q.pop()
			continue
		}
		for j.next < len(j.encs) {
			n := j.encs[j.next].Tokens()
			if len(b.encs) > 0 && (len(b.encs) >= maxInputs || b.tokens+n > maxTokens) {
				b.full = true
				break
			}
			if len(b.encs) == 0 {
				b.first = j.enqueued
			}
			b.encs = append(b.encs, j.encs[j.next])
			b.owner = append(b.owner, j)
			b.at = append(b.at, j.next)
			b.tokens += n
			j.next++
			q.n--
		}
		if j.next == len(j.encs) {
			q.pop()
		}
	}
	if len(b.encs) >= maxInputs {
		b.full = true
	}
	q.depth(q.n)
	return skipped
}

func (q *queue) pop() {
	q.jobs[0] = nil
	q.jobs = q.jobs[1:]
	if len(q.jobs) == 0 {
		q.jobs = q.jobs[:0:0] // let the backing array go
	}
}

// loop is the batching loop: it waits for a first input, gathers more for
// up to MaxWait after that input arrived (or until the batch is full), runs
// the batch in one forward pass of every task in it, answers, and starts
// again; it returns when stop is closed.
func (s *Server) loop() {
	defer close(s.loopDone)
	var b batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		b.reset()
		for len(b.encs) == 0 {
			s.skip(s.q.take(&b, s.opts.MaxBatchTokens, s.opts.MaxBatchRequests))
			if len(b.encs) > 0 {
				break
			}
			select {
			case <-s.q.wake:
			case <-s.stop:
				return
			}
		}
	gather:
		for !b.full {
			wait := time.Until(b.first.Add(s.opts.MaxWait))
			if wait <= 0 {
				break
			}
			timer.Reset(wait)
			select {
			case <-s.q.wake:
				timer.Stop()
				s.skip(s.q.take(&b, s.opts.MaxBatchTokens, s.opts.MaxBatchRequests))
			case <-timer.C:
				break gather
			case <-s.stop:
				timer.Stop()
				break gather
			}
		}
		s.runBatch(&b)
	}
}

func (s *Server) skip(n int) {
	if n > 0 {
		s.m.skipped.Add(float64(n))
	}
}

// runBatch runs b's inputs whose clients are still there and answers their
// jobs.
func (s *Server) runBatch(b *batch) {
	// Clients that went away while the batch gathered are skipped too.
	k := 0
	for i := range b.encs {
		if j := b.owner[i]; j.ctx.Err() == nil && !j.failed {
			b.encs[k], b.owner[k], b.at[k] = b.encs[i], j, b.at[i]
			k++
		} else {
			s.m.skipped.Inc()
		}
	}
	clear(b.encs[k:])
	clear(b.owner[k:])
	b.encs, b.owner, b.at = b.encs[:k], b.owner[:k], b.at[:k]
	if k == 0 {
		return
	}
	tokens := 0
	for i := range b.encs {
		tokens += b.encs[i].Tokens()
	}
	s.m.batchReqs.Observe(float64(k))
	s.m.batchToks.Observe(float64(tokens))
	if cap(b.out) < k {
		b.out = make([]petl.Prediction, k)
	}
	b.out = b.out[:k]
	err := s.run(b.encs, b.out)
	for i, j := range b.owner {
		if j.failed {
			continue
		}
		if err != nil {
			j.failed = true
			j.done <- err
			continue
		}
		j.preds[b.at[i]] = b.out[i]
		if j.left--; j.left == 0 {
			j.done <- nil
		}
	}
	clear(b.out)
}
