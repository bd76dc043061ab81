//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package safetensors

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// loadFile maps the whole file read-only and shared. The returned function
// unmaps it.
func loadFile(f *os.File, size int) ([]byte, func([]byte) error, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return b, unix.Munmap, nil
}

// dontNeed tells the system that the process no longer needs the pages of
// b (page-aligned, inside a read-only shared file mapping) resident: they
// leave its resident set and are read back from the page cache or the file
// if touched again.
func dontNeed(b []byte) error {
	return unix.Madvise(b, unix.MADV_DONTNEED)
}
