package safefile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteAtomic writes a file at path through write, atomically: the content
// goes to a temporary file in the same directory, which is synced and then
// renamed over path, and the directory is synced. Readers see either the
// old file or the complete new one. A process that has the old file
// memory-mapped keeps seeing the old content. The new file has mode 0644.
func WriteAtomic(path string, write func(w io.Writer) error) error {
	return WriteAtomicStep(path, write, nil)
}

// WriteAtomicStep is WriteAtomic with beforeRename, when not nil, called
// once the temporary file is complete, synced and closed, just before it
// is renamed over path. An error from beforeRename stops the write there
// and is returned as it is, the temporary file left in place as a crash at
// that point would leave it: for writers that test being stopped at each
// step of a save (package adapter).
func WriteAtomicStep(path string, write func(w io.Writer) error, beforeRename func() error) (err error) {
	dir := filepath.Dir(path)
	stopped := false
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil && !stopped {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if beforeRename != nil {
		if err := beforeRename(); err != nil {
			stopped = true
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	SyncDir(dir)
	return nil
}

// SyncDir makes a rename in dir durable where the system allows it; errors
// are ignored because some systems cannot sync a directory.
func SyncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
