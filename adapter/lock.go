package adapter

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Lock is the lock on writing an adapter (see TryLock). The system
// releases it when the process ends, however it ends: a killed writer
// never leaves an adapter locked.
type Lock struct {
	key  string    // the lock file's absolute path
	path string    // the lock file
	f    io.Closer // holds the flock: closing it releases the lock
	mu   sync.Mutex
}

// ErrLocked is wrapped by the error of TryLock and Save when another
// process is writing the same adapter.
var ErrLocked = errors.New("adapter is being written by another process")

// held are the locks this process holds through TryLock, by key: Save
// under one of them does not lock again (a second flock by the same
// process would wait for itself).
var held struct {
	sync.Mutex
	m map[string]*Lock
}

// lockPath is the lock file of the adapter whose configuration is cPath:
// .STEM.lock beside it. It is left in place after use (removing a lock
// file races with the next locker).
func lockPath(cPath string) string {
	dir, name := filepath.Split(cPath)
	return filepath.Join(dir, "."+strings.TrimSuffix(name, ".json")+".lock")
}

// TryLock locks the adapter at path (see Paths) for writing, for as long
// as a caller wants it: a training run that will save there, say, takes
// it before it starts, so that a second run writing the same output is
// refused at once (an error wrapping ErrLocked) rather than after its
// work. Save and Rebase in this process go ahead under it. Unlock
// releases it; so does the end of the process.
func TryLock(path string) (*Lock, error) {
	_, cPath := Paths(path)
	lp := lockPath(cPath)
	key, err := filepath.Abs(lp)
	if err != nil {
		key = lp
	}
	held.Lock()
	defer held.Unlock()
	if held.m[key] != nil {
		return nil, fmt.Errorf("adapter: %s is already locked by this process: %w", cPath, ErrLocked)
	}
	f, err := lockFile(lp, 0)
	if err != nil {
		return nil, fmt.Errorf("adapter: locking %s: %w", cPath, err)
	}
	l := &Lock{key: key, path: lp, f: f}
	if held.m == nil {
		held.m = map[string]*Lock{}
	}
	held.m[key] = l
	return l, nil
}

// Unlock releases the lock. It is idempotent.
func (l *Lock) Unlock() error {
	held.Lock()
	defer held.Unlock()
	if held.m[l.key] != l {
		return nil
	}
	delete(held.m, l.key)
	return l.f.Close()
}

// withLock runs fn holding the lock of the adapter whose configuration is
// cPath: this process's TryLock if it holds one, else the lock file,
// waiting up to lockWait for another process's save.
func withLock(cPath string, fn func() error) error {
	lp := lockPath(cPath)
	key, err := filepath.Abs(lp)
	if err != nil {
		key = lp
	}
	held.Lock()
	l := held.m[key]
	held.Unlock()
	if l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		return fn()
	}
	if err := step("lock"); err != nil {
		return err
	}
	f, err := lockFile(lp, lockWait)
	if err != nil {
		return fmt.Errorf("adapter: saving %s: %w", cPath, err)
	}
	defer f.Close()
	return fn()
}

// lockPoll is how often a waiting locker tries again.
const lockPoll = 10 * time.Millisecond
