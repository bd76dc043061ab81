package kernels

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Guard values and float comparison, shared by every test of the package.

// guardBits is the bit pattern written around every buffer a test hands a
// kernel (and between the rows of a matrix with a padded leading dimension):
// a signalling NaN with a payload no kernel produces, compared bit for bit,
// so any stray write shows, a NaN or the same value included.
const guardBits = 0x7fa5a5a5

// guardN is the number of guard floats on each side of a buffer: more than
// one unrolled block of the widest kernel (4 vectors of 16 lanes).
const guardN = 64

// isGuard reports whether v is a guard value, bit for bit.
func isGuard(v float32) bool { return math.Float32bits(v) == guardBits }

// unwritten is the value an output buffer holds before the kernel runs
// (see fillUnwritten), so that an element the kernel failed to write fails
// the comparison with the reference.
const unwritten = float32(-7.77e7)

// fillUnwritten is a fill function for outputs: every element unwritten.
func fillUnwritten(int) float32 { return unwritten }

// guardedBuf is a float32 slice of length n starting off floats after the
// leading guards of an allocation, with guardN guard values before and after.
type guardedBuf struct {
	all    []float32
	off, n int
}

// newGuarded returns a guarded buffer of n floats, off floats past the
// leading guards, filled by fill (or zeros).
func newGuarded(n, off int, fill func(i int) float32) guardedBuf {
	b := guardedBuf{all: make([]float32, n+off+2*guardN), off: off + guardN, n: n}
	for i := range b.all {
		b.all[i] = math.Float32frombits(guardBits)
	}
	s := b.s()
	if fill == nil {
		clear(s)
		return b
	}
	for i := range s {
		s[i] = fill(i)
	}
	return b
}

// s is the buffer's slice (capacity limited to its length).
func (b guardedBuf) s() []float32 { return b.all[b.off : b.off+b.n : b.off+b.n] }

// clone returns a guarded copy at the same offset.
func (b guardedBuf) clone() guardedBuf {
	return guardedBuf{all: slices.Clone(b.all), off: b.off, n: b.n}
}

// checkGuards fails if anything outside the slice was written.
func (b guardedBuf) checkGuards(t *testing.T, name string) {
	t.Helper()
	for i, v := range b.all {
		if (i < b.off || i >= b.off+b.n) && !isGuard(v) {
			t.Fatalf("%s: guard at %d (slice is [%d,%d)) overwritten with %v", name, i, b.off, b.off+b.n, v)
		}
	}
}

// sameFloat reports whether a and b are the same float32: bitwise equal, or
// both NaN (any payload).
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// requireSameBits fails at the first element where got and want differ
// (bitwise; any NaN matches any NaN).
func requireSameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s: length", what)
	for i := range want {
		if !sameFloat(got[i], want[i]) {
			t.Fatalf("%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}
