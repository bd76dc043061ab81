package safetensors

import (
	"io"

	"github.com/petl-go/petl/internal/safefile"
)

// WriteAtomic is safefile.WriteAtomic.
//
// Deprecated: atomic writing is not part of the file format; it lives in
// internal/safefile.
func WriteAtomic(path string, write func(w io.Writer) error) error {
	return safefile.WriteAtomic(path, write)
}

// SyncDir is safefile.SyncDir.
//
// Deprecated: see WriteAtomic.
func SyncDir(dir string) { safefile.SyncDir(dir) }
