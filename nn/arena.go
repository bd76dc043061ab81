package nn

import "runtime/debug"

// arenaAlign is the granularity, in float32 elements, of Arena buffers: every
// buffer starts on a 64-byte boundary relative to the arena's block.
const arenaAlign = 16

// Arena hands out float32 buffers for activations and scratch from one block
// that is reused across calls. A forward (or training) step calls Reset and
// then Alloc for each buffer it needs; a request that does not fit is served
// from the heap and remembered, and the next Reset grows the block to the
// high-water mark. After one step of a given shape (or of the largest shape
// seen) steps allocate nothing.
//
// While a step overflows the block, a heap buffer served at a position is
// reused by the next request at that position after a Release, so that
// scratch with a stack discipline costs about its high-water mark then too.
// When Reset replaces a large block it first returns the old memory to the
// operating system (a garbage collection), so that the old and the new
// block are not resident together: drop references to the arena's buffers
// before Reset for that to work.
//
// Mark and Release give scratch a stack discipline inside a step: buffers
// allocated after a Mark are invalid after Release of that mark. All buffers
// are invalid after Reset. Buffers are not zeroed (they hold whatever the
// previous step left); AllocZero clears. An Arena is not safe for concurrent
// use.
type Arena struct {
	block []float32         // the reused block
	spill map[int][]float32 // requests past the block since Reset, by position
	off   int               // next free position; past len(block) once a request overflowed
	peak  int               // highest off since Reset: the size the block needs
	grew  bool              // a request since Reset did not fit in the block
}

// releaseAbove is the size, in elements, from which Reset returns the
// memory of a block it replaces to the operating system before allocating
// the new one (64 MiB: below that a forced collection costs more than the
// memory is worth).
const releaseAbove = 1 << 24

// Alloc returns a buffer of n elements with undefined contents, valid until
// Reset (or Release of an earlier mark).
func (a *Arena) Alloc(n int) []float32 {
	if n < 0 {
		panic("nn.Arena.Alloc: negative size")
	}
	size := (n + arenaAlign - 1) &^ (arenaAlign - 1)
	var s []float32
	if a.off+size <= len(a.block) {
		s = a.block[a.off : a.off+n : a.off+n]
	} else {
		// Served from the heap, but counted as if the block were large
		// enough, so that Reset learns the true high-water mark (Release
		// included). A buffer at a position is free again once off is back
		// at or below it, so a later request there reuses it.
		s = a.spilled(n)
		a.grew = true
	}
	a.off += size
	a.peak = max(a.peak, a.off)
	return s
}

// spilled returns a heap buffer of n elements for position a.off.
func (a *Arena) spilled(n int) []float32 {
	if b, ok := a.spill[a.off]; ok && cap(b) >= n {
		return b[:n:n]
	}
	if a.spill == nil {
		a.spill = make(map[int][]float32)
	}
	b := make([]float32, n)
	a.spill[a.off] = b
	return b
}

// AllocZero is Alloc with the buffer cleared.
func (a *Arena) AllocZero(n int) []float32 {
	s := a.Alloc(n)
	clear(s)
	return s
}

// Mark records the arena's position for a later Release.
func (a *Arena) Mark() int { return a.off }

// Release frees every buffer allocated since Mark returned m.
func (a *Arena) Release(m int) {
	if m < 0 || m > a.off {
		panic("nn.Arena.Release: mark is not an earlier position of this arena")
	}
	a.off = m
}

// Reset frees every buffer. If the last step needed more than the block, the
// block is replaced by one of exactly the high-water mark of that step;
// from releaseAbove elements, the old block and the heap buffers are first
// returned to the operating system (debug.FreeOSMemory), which frees them
// if nothing else refers to them.
func (a *Arena) Reset() {
	if a.grew {
		a.block, a.spill = nil, nil
		if a.peak >= releaseAbove {
			debug.FreeOSMemory()
		}
		a.block = make([]float32, a.peak)
		a.grew = false
	}
	a.off, a.peak = 0, 0
}

// Cap returns the size of the block in elements (its memory is 4*Cap bytes).
func (a *Arena) Cap() int { return len(a.block) }
