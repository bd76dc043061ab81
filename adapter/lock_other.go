//go:build !unix

package adapter

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Without flock, saves are serialised within this process only.
var localLocks struct {
	sync.Mutex
	m map[string]bool
}

// localLock releases an in-process lock.
type localLock string

func (l localLock) Close() error {
	localLocks.Lock()
	delete(localLocks.m, string(l))
	localLocks.Unlock()
	return nil
}

// lockFile takes the in-process lock of path, waiting up to wait.
func lockFile(path string, wait time.Duration) (io.Closer, error) {
	deadline := time.Now().Add(wait)
	for {
		localLocks.Lock()
		if !localLocks.m[path] {
			if localLocks.m == nil {
				localLocks.m = map[string]bool{}
			}
			localLocks.m[path] = true
			localLocks.Unlock()
			return localLock(path), nil
		}
		localLocks.Unlock()
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w (lock %s held; waited %v)", ErrLocked, path, wait)
		}
		time.Sleep(lockPoll)
	}
}
