package nohang

import (
	"errors"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunReturnsError(t *testing.T) {
	want := errors.New("refused")
	require.Equal(t, want, Run(t, func() error { return want }))
	require.NoError(t, Run(t, func() error { return nil }))
}

// TestRunFailsOnHang runs a function that never returns under a stand-in
// for testing.T and checks that Run reported it.
func TestRunFailsOnHang(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the limit")
	}
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(rec, func() error { select {} })
	}()
	<-done
	require.True(t, rec.failed, "a hang was not reported")
}

// recorder is a testing.TB whose Fatalf records the failure and ends the
// calling goroutine, as testing.T's does.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	runtime.Goexit()
}
