package task

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// Permutation returns a pseudo-random permutation of 0..n-1 that depends
// only on (seed, epoch): the order of an epoch's examples. It is a
// Fisher–Yates shuffle driven by math/rand/v2's PCG (whose output sequence
// is fixed by its specification) with unbiased bounded draws (Lemire's
// multiply-and-reject), all written out here so the order stays the same
// across Go releases. Because each epoch has its own stream, training can
// resume at any epoch without replaying earlier ones.
func Permutation(n int, seed uint64, epoch int) []int {
	if n < 0 {
		panic(fmt.Sprintf("task.Permutation: n = %d", n))
	}
	src := rand.NewPCG(seed, 0x9E3779B97F4A7C15*uint64(epoch+1))
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(bounded(src, uint64(i+1)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// bounded returns a uniform value in [0, n) from src (n > 0).
func bounded(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n // 2^64 mod n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// Batches cuts order into consecutive batches of size indices (sub-slices
// of order). The last batch is shorter when len(order) is not a multiple of
// size, or dropped when dropLast is set.
func Batches(order []int, size int, dropLast bool) [][]int {
	if size <= 0 {
		panic(fmt.Sprintf("task.Batches: batch size %d", size))
	}
	out := make([][]int, 0, (len(order)+size-1)/size)
	for lo := 0; lo < len(order); lo += size {
		hi := min(lo+size, len(order))
		if hi-lo < size && dropLast {
			break
		}
		out = append(out, order[lo:hi:hi])
	}
	return out
}

// NumBatches is the number of batches Batches returns for n indices.
func NumBatches(n, size int, dropLast bool) int {
	if dropLast {
		return n / size
	}
	return (n + size - 1) / size
}
