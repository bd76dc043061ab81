package kernels

import "sync"

// parallelFor calls f on disjoint ranges [lo, hi) covering [0, n), each of at
// least grain items (except possibly the last), over at most Threads()
// goroutines. The split depends only on n, grain and the thread count, and f
// must write only outputs owned by its range, so results do not depend on
// scheduling.
func parallelFor(n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	workers := Threads()
	if maxw := (n + grain - 1) / grain; workers > maxw {
		workers = maxw
	}
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	f(0, min(chunk, n))
	wg.Wait()
}
