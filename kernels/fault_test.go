//go:build unix

package kernels

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// mappedFloats maps a file of n float32s (filled with small values) and
// truncates it to its first keep floats: reading past them raises SIGBUS,
// as when another program truncates a model file that petl has mapped. n
// and keep must be multiples of the page size in floats.
func mappedFloats(t *testing.T, n, keep int) []float32 {
	t.Helper()
	skipUnderEmulation(t)
	path := filepath.Join(t.TempDir(), "mapped")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		*(*float32)(unsafe.Pointer(&buf[4*i])) = float32(i%7) / 8
	}
	_, err = f.Write(buf)
	require.NoError(t, err)
	data, err := syscall.Mmap(int(f.Fd()), 0, 4*n, syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Munmap(data) })
	require.NoError(t, f.Truncate(int64(4*keep)))
	return unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), n)
}

// skipUnderEmulation skips a test that reads past a truncated mapping when
// it runs under user-mode emulation (qemu-aarch64-static on an x86 host:
// /proc/cpuinfo is the host's): qemu reports the SIGBUS without its
// address, which the Go runtime then takes for a nil dereference, so there
// is no fault address to check.
func skipUnderEmulation(t *testing.T) {
	t.Helper()
	if runtime.GOARCH == "amd64" {
		return
	}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil && strings.Contains(string(info), "vendor_id") {
		t.Skip("emulated " + runtime.GOARCH + " (qemu user mode reports SIGBUS without its address)")
	}
}

// recoverFault runs fn as a guard does (safetensors.Guard): with faults
// turned into panics on this goroutine, and recovers what reaches it. It
// fails the test if fn has not returned within a while (a worker left
// waiting for one that faulted).
func recoverFault(t *testing.T, fn func()) (r any) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		debug.SetPanicOnFault(true)
		fn()
	}()
	select {
	case r = <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not return: a worker waits for one that faulted")
		return nil
	}
}

// requireFaultIn checks that r is a memory fault at an address inside m.
func requireFaultIn(t *testing.T, r any, m []float32) {
	t.Helper()
	require.NotNil(t, r, "no fault reached the caller")
	_, isErr := r.(runtime.Error)
	fa, hasAddr := r.(interface{ Addr() uintptr })
	require.True(t, isErr && hasAddr, "recovered %T %v, want a runtime.Error with the fault's address", r, r)
	lo := uintptr(unsafe.Pointer(&m[0]))
	require.True(t, fa.Addr() >= lo && fa.Addr() < lo+uintptr(4*len(m)), "fault at %#x, outside the mapping at %#x", fa.Addr(), lo)
}

// TestWorkerFaultReachesCaller: a product on two threads whose operand is
// a mapped file truncated under it faults on a worker goroutine; the
// fault reaches the caller's goroutine as a panic it can recover (it used
// to kill the process with SIGBUS), the workers that wait for each other
// are not left waiting, and the kernels work as before afterwards. B is
// stored transposed so that its truncated half holds the columns that the
// second worker packs, not the caller's: the caller waits at the barrier
// for a worker that faulted.
func TestWorkerFaultReachesCaller(t *testing.T) {
	defer SetThreads(0)
	page := os.Getpagesize() / 4 // floats per page
	// B: n columns, stored transposed (n rows of k floats), the second
	// half of them lost.
	const m, n, k = 192, 256, 256
	total := n * k
	if total%(2*page) != 0 {
		t.Skipf("page size %d floats does not divide B", page)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	a := make([]float32, m*k)
	for i := range a {
		a[i] = rng.Float32() - 0.5
	}
	c := make([]float32, m*n)
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		b := mappedFloats(t, total, total/2)
		SetThreads(2)
		for _, rowSplit := range []bool{true, false} {
			rows := m
			if !rowSplit {
				rows = 6 // a column split: each worker packs its own B
			}
			r := recoverFault(t, func() {
				impl(false, true, rows, n, k, 1, a, k, b, k, 0, c, n)
			})
			requireFaultIn(t, r, b)
		}

		// The pool's goroutines survived and compute as before.
		good := make([]float32, n*k)
		copy(good, b[:total/2])
		for i := total / 2; i < total; i++ {
			good[i] = float32(i%7) / 8
		}
		want := make([]float32, m*n)
		sgemmGeneric(false, true, m, n, k, 1, a, k, good, k, 0, want, n)
		clear(c)
		impl(false, true, m, n, k, 1, a, k, good, k, 0, c, n)
		for i := range c {
			require.InDelta(t, want[i], c[i], 1e-3, "element %d", i)
		}
	})
}

// TestParallelForFault: a fault in the function a ParallelFor worker runs
// reaches the caller; other panics are not recovered by the workers (they
// would be on the caller's goroutine only: here worker 0's).
func TestParallelForFault(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	page := os.Getpagesize() / 4
	mapped := mappedFloats(t, 2*page, page)
	sum := make([]float32, 2) // per range
	r := recoverFault(t, func() {
		ParallelFor(2, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sum[i] += mapped[i*page] // worker 1 reads the lost page
			}
		})
	})
	requireFaultIn(t, r, mapped)
	require.Zero(t, inParallel.Load(), "ParallelFor's count of running calls is restored")

	// Jobs, on the same pool.
	j := NewJobs(func(a *[]float32, lo, hi int) {
		for i := lo; i < hi; i++ {
			sum[i] += (*a)[i*page]
		}
	})
	requireFaultIn(t, recoverFault(t, func() { j.Run(2, mapped) }), mapped)

	// A plain panic of worker 0 (the caller's goroutine) is not a fault:
	// it goes on as it was.
	require.PanicsWithValue(t, "boom", func() {
		ParallelFor(2, func(lo, hi int) {
			if lo == 0 {
				panic("boom")
			}
		})
	})
}
