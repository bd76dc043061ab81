// Package nohang is for tests that feed hostile files (named pipes,
// /dev/zero, huge headers) to readers: such a reader must fail at once,
// and a test that waited for it for good would hide the defect behind the
// test binary's timeout.
package nohang

import (
	"testing"
	"time"
)

// Limit is how long Run waits.
const Limit = 5 * time.Second

// Run calls fn and returns its error; it fails t at once if fn has not
// returned within Limit (fn's goroutine is left behind, blocked).
func Run(t testing.TB, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(Limit):
		t.Fatalf("still running after %v: hangs", Limit)
		return nil
	}
}
