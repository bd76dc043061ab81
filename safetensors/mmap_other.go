//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package safetensors

import (
	"fmt"
	"io"
	"os"
	"unsafe"
)

// loadFile reads the whole file into memory, 8-byte aligned, on systems
// without the mmap used elsewhere. The tensors are then ordinary heap
// memory: writing to one is not a fault, and File.Mapped reports false.
func loadFile(f *os.File, size int) ([]byte, func([]byte) error, error) {
	words := make([]uint64, (size+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), size)
	n, err := f.ReadAt(b, 0)
	if n != size {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, fmt.Errorf("reading: %w", err)
	}
	return b, nil, nil
}

// dontNeed does nothing where files are read into memory.
func dontNeed(b []byte) error { return nil }
