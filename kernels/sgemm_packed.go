package kernels

import (
	"fmt"
	"math"
)

// PackedB is the op(B) operand of SGEMM packed once, ahead of time, into the
// layout the active variant's micro-kernel reads, so that products with a
// fixed B (the frozen weights of a model) skip the packing that Sgemm does on
// every call. It keeps the source matrix too: when the active variant is not
// the one it was packed for (or has no packed layout, as the pure-Go
// reference), SgemmPacked multiplies by the source instead, with the same
// result.
//
// Layout (floats): k is cut into blocks of equal depth kc as Sgemm cuts it,
// and the columns of op(B) into slivers of nr (the last padded with zeros);
// block q starts at q*kc*ceil(n/nr)*nr, its sliver s at s*nr*kc after that,
// and element (p, j) of the sliver at p*nr+j. A block shallower than kc (the
// last, when kc does not divide k) leaves the rest of its slivers unused.
type PackedB struct {
	K, N   int  // op(B) is K x N
	TransB bool // the source is stored transposed (N x K): op(B) = Bᵀ
	src    []float32
	ldb    int

	variant Variant
	g       *sgemmBlocking // layout owner; nil: no packed layout
	kc      int
	data    []float32
}

// PackedBLayout returns the variant whose layout a packing made now would
// have, and the shape of that layout for a k x n op(B): [k blocks, slivers,
// kc, nr], whose product is the number of floats PackB needs. A nil shape
// means the active variant has no packed layout (SgemmPacked then
// multiplies by the source).
func PackedBLayout(k, n int) (Variant, []int) {
	v := Active()
	g := sgemmBlockings[v]
	if g == nil || !sgemmOp.has[v] || k <= 0 || n <= 0 {
		return v, nil
	}
	kc := blockDepth(k, g.kc)
	return v, []int{(k + kc - 1) / kc, (n + g.nr - 1) / g.nr, kc, g.nr}
}

// packedSize is the product of a PackedBLayout shape (0 for nil).
func packedSize(shape []int) int {
	if shape == nil {
		return 0
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// blockDepth is the depth of Sgemm's k blocks: k cut into blocks of equal
// depth at most kc.
func blockDepth(k, kc int) int {
	blocks := (k + kc - 1) / kc
	return (k + blocks - 1) / blocks
}

// PackB packs op(B) (k x n; b is n x k when transB) for the active variant
// into dst, which must hold the floats of the shape PackedBLayout gives (nil
// when it gives none), and returns the operand. dst may be memory the
// caller keeps elsewhere, such as a mapping of a file written earlier: see
// PackedBFrom.
func PackB(dst []float32, transB bool, k, n int, b []float32, ldb int) *PackedB {
	checkOperand("b", "ldb", transB, k, n, b, ldb)
	v, shape := PackedBLayout(k, n)
	size := packedSize(shape)
	if size == 0 {
		return &PackedB{K: k, N: n, TransB: transB, src: b, ldb: ldb, variant: v}
	}
	if len(dst) != size {
		panic(fmt.Sprintf("kernels.PackB: len(dst)=%d, want %d for %dx%d", len(dst), size, k, n))
	}
	pb := newPackedB(dst, v, transB, k, n, b, ldb)
	nr, stride := pb.g.nr, pb.g.nr*pb.kc // sliver width and length
	for q, pc := 0, 0; pc < k; q, pc = q+1, pc+pb.kc {
		kc := min(pb.kc, k-pc)
		block := dst[q*pb.blockFloats() : (q+1)*pb.blockFloats()]
		packB(block, stride, nr, transB, b, ldb, pc, kc, 0, n)
		if kc < pb.kc {
			// Unused tails of the slivers: zero, so the whole packing is
			// deterministic (it may be written to a file).
			for s := 0; s < pb.slivers(); s++ {
				clear(block[s*stride+kc*nr : (s+1)*stride])
			}
		}
	}
	return pb
}

// PackedBFrom returns the operand for data packed earlier by PackB for
// variant v (read back from a file, say) over the source b. It does not
// read data; it returns an error if the layout it would have now differs (a
// different variant or shape), in which case the caller packs again.
func PackedBFrom(data []float32, v Variant, transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	checkOperand("b", "ldb", transB, k, n, b, ldb)
	now, shape := PackedBLayout(k, n)
	size := packedSize(shape)
	if now != v {
		return nil, fmt.Errorf("kernels: packed for %v, the active variant is %v", v, now)
	}
	if size == 0 || len(data) != size {
		return nil, fmt.Errorf("kernels: %d packed floats for %dx%d on %v, want %d", len(data), k, n, v, size)
	}
	return newPackedB(data, v, transB, k, n, b, ldb), nil
}

// newPackedB is the operand over data laid out for variant v, which has a
// blocked SGEMM.
func newPackedB(data []float32, v Variant, transB bool, k, n int, b []float32, ldb int) *PackedB {
	g := sgemmBlockings[v]
	return &PackedB{K: k, N: n, TransB: transB, src: b, ldb: ldb, variant: v, g: g, kc: blockDepth(k, g.kc), data: data}
}

// slivers is the number of nr-wide column slivers of the layout.
func (pb *PackedB) slivers() int { return (pb.N + pb.g.nr - 1) / pb.g.nr }

// blockFloats is the size of one k block of the layout: every sliver at
// the full depth kc.
func (pb *PackedB) blockFloats() int { return pb.kc * pb.slivers() * pb.g.nr }

// Packed reports whether pb holds a packed layout that the active variant
// uses (otherwise SgemmPacked multiplies by the source).
func (pb *PackedB) Packed() bool {
	return pb.g != nil && pb.variant == Active()
}

// Of reports whether pb was packed from b (the same memory, as PackB and
// PackedBFrom were given it).
func (pb *PackedB) Of(b []float32) bool {
	return len(b) == len(pb.src) && (len(b) == 0 || &b[0] == &pb.src[0])
}

// SgemmPacked computes C = alpha * op(A) * op(B) + beta * C as Sgemm does,
// with op(B) the packed operand pb (k = pb.K, n = pb.N). Results are bitwise
// those of Sgemm on pb's source.
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	k, n := pb.K, pb.N
	g := pb.g
	if !pb.Packed() || m == 0 || alpha == 0 || g.small(n, k) {
		Sgemm(transA, pb.TransB, m, n, k, alpha, a, lda, pb.src, pb.ldb, beta, c, ldc)
		return
	}
	checkOperand("a", "lda", transA, m, k, a, lda)
	checkMatrix("c", "ldc", c, m, n, ldc)
	workers := g.workers(m, n, k)
	j := sgemmJobs.get()
	j.packed = pb
	j.setup(g, workers, transA, pb.TransB, m, n, k, alpha, a, lda, pb.src, pb.ldb, beta, c, ldc)
	runWorkers(workers, j, &j.group)
	j.a, j.b, j.c, j.packed = nil, nil, nil, nil
	sgemmJobs.put(j)
}

// runPacked is worker w's share of a product by a packed B: as runRows and
// runCols, without packing B and so without waiting for the other workers.
func (j *sgemmJob) runPacked(w int) {
	g, pb := j.g, j.packed
	mr, nr := g.mr, g.nr
	local := &j.local[w]
	// product adds the k blocks of C[r0:r1, c0:c1] one after the other.
	product := func(r0, r1, c0, c1 int) {
		for jc := c0; jc < c1; jc += g.nc {
			nc := min(g.nc, c1-jc)
			for q, pc := 0, 0; pc < j.k; q, pc = q+1, pc+j.kc {
				beta := j.beta
				if pc > 0 {
					beta = 1
				}
				j.rows(local, pb.data[q*pb.blockFloats()+jc*j.kc:], r0, r1, pc, min(j.kc, j.k-pc), jc, nc, beta)
			}
		}
	}
	if !j.rowSplit {
		s0, s1 := split(pb.slivers(), j.workers, w)
		if s0 < s1 {
			product(0, j.m, s0*nr, min(j.n, s1*nr))
		}
		return
	}
	// A task is a run of row blocks that the worker multiplies one k block
	// at a time (product loops over k outside rows' loop over row blocks),
	// so that each k block of B, read from memory, serves all of them from
	// cache: with one row block per task every block of rows would read
	// all of B from memory again (a 768x3072 weight is 9 MiB). Two tasks
	// per worker, taken in turn, keep the workers balanced when one is
	// slowed.
	blocks, blockTiles := j.rowBlocks()
	tasks := 1
	if j.workers > 1 {
		tasks = min(blocks, 2*j.workers)
	}
	for {
		t := j.next.Add(1) - 1
		if t >= int64(tasks) {
			return
		}
		b0, b1 := split(blocks, tasks, int(t))
		product(b0*blockTiles*mr, min(j.m, b1*blockTiles*mr), 0, j.n)
	}
}

// Verify checks samples elements of the packed layout, spread evenly over
// it from the first to the last, against the source (or against zero where
// the layout pads), and returns an error naming the first that differs.
// It reads a few cache lines per sample, so that a packing read back from a
// file can be checked against the weights it claims to hold at little cost;
// it cannot see every element, so it guards against a stale or wrong file,
// not against a single flipped bit.
func (pb *PackedB) Verify(samples int) error {
	if pb.g == nil || len(pb.data) == 0 || samples <= 0 {
		return nil
	}
	nr := pb.g.nr
	total := len(pb.data)
	for i := range samples {
		x := 0
		if samples > 1 {
			x = int(uint64(i) * uint64(total-1) / uint64(samples-1))
		}
		q, r := x/pb.blockFloats(), x%pb.blockFloats()
		s, r := r/(nr*pb.kc), r%(nr*pb.kc)
		p, jj := r/nr, r%nr
		k, j := q*pb.kc+p, s*nr+jj // element (k, j) of op(B), if inside
		var want float32
		if k < pb.K && j < pb.N {
			if pb.TransB {
				want = pb.src[j*pb.ldb+k]
			} else {
				want = pb.src[k*pb.ldb+j]
			}
		}
		if got := pb.data[x]; math.Float32bits(got) != math.Float32bits(want) {
			return fmt.Errorf("kernels: packed %dx%d operand: float %d (element %d,%d) is %v, the source has %v", pb.K, pb.N, x, k, j, got, want)
		}
	}
	return nil
}
