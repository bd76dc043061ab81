// Package safefile opens the files petl reads from outside (checkpoints,
// vocabularies, adapter files, data) so that a hostile or unlucky file is
// an immediate, clear error: never a hang (a named pipe opened for reading
// blocks until a writer comes), never an out-of-memory (/dev/zero, a huge
// file where a small one belongs), and, for a name read from another file,
// never a file outside its folder.
//
// Every file is opened non-blocking, then checked with fstat on the open
// descriptor (not by name, so that a file swapped between a check and the
// open is still caught): it must be a regular file no larger than the
// limit of its kind.
//
// It also writes files atomically (WriteAtomic): to a temporary file beside
// the target, synced, then renamed over it, so a reader sees the old file or
// the new one, never a part.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Size limits of the small files petl reads whole.
const (
	// MaxJSON bounds a configuration file: config.json,
	// tokenizer_config.json (a few KiB in practice).
	MaxJSON = 1 << 20
	// MaxAdapterJSON bounds an adapter's configuration (its tensor names
	// and labels: tens of KiB for a fully fine-tuned BERT-large).
	MaxAdapterJSON = 4 << 20
	// MaxVocab bounds a WordPiece vocabulary (bert-base: 226 KiB;
	// multilingual: 0.9 MiB).
	MaxVocab = 16 << 20
)

// ErrNotRegular is wrapped by the error for a path that is a directory, a
// named pipe, a device, a socket or anything else but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file over its size limit.
var ErrTooLarge = errors.New("file too large")

// Open opens the regular file at path for reading without blocking (a
// named pipe is refused, not waited on) and returns it with its size,
// which is at most max (max < 0: no limit). what says what the file is,
// for messages ("config.json", "the vocabulary"); errors name the path.
func Open(path string, max int64, what string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, 0, err
	}
	return checked(f, path, max, what)
}

// check fstat's an open file: regular, at most max bytes.
func check(f *os.File, path string, max int64, what string) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (a %s): %s must be a regular file", ErrNotRegular, Kind(st.Mode()), what)}
	}
	if max >= 0 && st.Size() > max {
		return 0, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %d bytes, more than the %d allowed for %s", ErrTooLarge, st.Size(), max, what)}
	}
	return st.Size(), nil
}

// Kind names a file mode's type: "directory", "named pipe", "device", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "irregular file"
}

// ReadFile reads the whole regular file at path, of at most max bytes (see
// Open).
func ReadFile(path string, max int64, what string) ([]byte, error) {
	f, size, err := Open(path, max, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, path, size, max, what)
}

// readAll reads an open file of size bytes (as fstat said), failing if it
// grew past max meanwhile.
func readAll(f *os.File, path string, size, max int64, what string) ([]byte, error) {
	if max < 0 {
		max = 1<<63 - 2
	}
	// A file may change between fstat and the read: read at most max+1
	// bytes, whatever the size said.
	buf := make([]byte, 0, size+1)
	buf, err := readLimited(f, buf, max+1)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(buf)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: grew past the %d bytes allowed for %s while being read", ErrTooLarge, max, what)}
	}
	return buf, nil
}

// readLimited appends up to n bytes of r to buf.
func readLimited(r io.Reader, buf []byte, n int64) ([]byte, error) {
	lr := io.LimitReader(r, n)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// CheckName checks that name, read from a file in a folder (an adapter's
// configuration naming its weights), is a plain file name in that folder:
// not empty, not absolute, no path separator, not "." or "..", no NUL.
// what says what the name is for, in messages.
func CheckName(name, what string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", what)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q is not a file name", what, name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%s %q holds a NUL byte", what, name)
	case filepath.IsAbs(name) || strings.ContainsAny(name, `/`+string(filepath.Separator)) || filepath.VolumeName(name) != "":
		return fmt.Errorf("%s %q is a path: it must be a plain file name in the same folder", what, name)
	}
	return nil
}

// OpenIn opens the regular file name in folder dir, as Open does, and
// confined to dir: name must be a plain file name (CheckName), and a
// symbolic link is followed only while it stays inside dir (os.Root).
func OpenIn(dir, name string, max int64, what string) (*os.File, int64, error) {
	if err := CheckName(name, what); err != nil {
		return nil, 0, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, 0, err
	}
	defer root.Close()
	path := filepath.Join(dir, name)
	f, err := root.OpenFile(name, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, 0, err
	}
	return checked(f, path, max, what)
}

// ReadFileIn reads the whole regular file name in folder dir (see OpenIn).
func ReadFileIn(dir, name string, max int64, what string) ([]byte, error) {
	f, size, err := OpenIn(dir, name, max, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, filepath.Join(dir, name), size, max, what)
}

// checked returns f and its size when check accepts it, and closes it when
// not.
func checked(f *os.File, path string, max int64, what string) (*os.File, int64, error) {
	size, err := check(f, path, max, what)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}
