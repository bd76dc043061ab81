package safetensors

import (
	"fmt"
	"runtime/debug"
	"sync"
	"unsafe"
)

// The mapped files open now, so that a fault's address names its file.
var mappings struct {
	sync.Mutex
	files map[*File]struct{}
}

func register(f *File) {
	mappings.Lock()
	defer mappings.Unlock()
	if mappings.files == nil {
		mappings.files = map[*File]struct{}{}
	}
	mappings.files[f] = struct{}{}
}

func unregister(f *File) {
	mappings.Lock()
	defer mappings.Unlock()
	delete(mappings.files, f)
}

// mappedAt returns the open mapped file whose mapping holds addr, and the
// offset of addr in it.
func mappedAt(addr uintptr) (*File, int, bool) {
	mappings.Lock()
	defer mappings.Unlock()
	for f := range mappings.files {
		if len(f.buf) == 0 {
			continue
		}
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(f.buf)))
		if addr >= lo && addr-lo < uintptr(len(f.buf)) {
			return f, int(addr - lo), true
		}
	}
	return nil, 0, false
}

// Guard runs fn with memory faults on the calling goroutine turned into an
// error: a fault reading a mapped file (truncated by another program while
// open: reading its lost pages raises SIGBUS, which would kill the
// process) makes Guard return an error naming the file and the offset,
// wrapping ErrChanged. Any other panic, and a fault at an address outside
// every open mapping (a bug, not a changed file), goes on as a panic.
//
// It covers only the calling goroutine (runtime/debug.SetPanicOnFault is
// per goroutine): work that fn hands to other goroutines is not covered.
func Guard(fn func() error) (err error) {
	prev := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(prev)
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if fe, ok := r.(interface{ Addr() uintptr }); ok {
			if f, off, ok := mappedAt(fe.Addr()); ok {
				err = fmt.Errorf("safetensors: %s: %w: reading it at offset %d faulted, it was truncated; %s",
					f.path, ErrChanged, off, changedAdvice)
				return
			}
		}
		panic(r)
	}()
	return fn()
}
