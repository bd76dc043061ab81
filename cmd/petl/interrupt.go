package main

import (
	"context"
	"io"
	"os"
)

// Every command stops within a second of SIGINT or SIGTERM (main's
// context), whatever it is doing: the library calls that run long watch the
// context (training between steps, predictions between forward passes),
// and the steps that cannot (opening and fingerprinting a model, reading
// standard input, tokenising a corpus) run through interruptible. A
// training run stops after its current step and writes its checkpoint; a
// second signal ends any command at once.

// stdin is what predict reads lines from; tests replace it.
var stdin io.Reader = os.Stdin

// interruptible runs fn on a goroutine of its own and returns what it
// returns, or ctx's error as soon as ctx is done: a step that does not
// watch ctx itself does not hold up a stop. An abandoned fn goes on in the
// background until the process ends (it must write nothing that the
// command's outputs depend on: it reads and computes, and at most fills a
// cache atomically), and drop, if set, releases what it returns when it
// does.
func interruptible[T any](ctx context.Context, fn func() (T, error), drop func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		if drop != nil {
			go func() {
				if r := <-ch; r.err == nil {
					drop(r.v)
				}
			}()
		}
		return zero, ctx.Err()
	}
}
