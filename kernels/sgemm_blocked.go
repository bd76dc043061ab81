package kernels

import (
	"sync/atomic"
)

// This file holds the cache-blocked SGEMM driver shared by every SIMD variant,
// in the manner of Goto and van de Geijn ("Anatomy of high-performance matrix
// multiplication", 2008) and BLIS. Only the micro-kernel, which multiplies a
// packed mr x kc panel of op(A) by a packed kc x nr panel of op(B) in
// registers, differs between variants.
//
// Loop nest, outermost first (C is m x n, op(A) is m x k, op(B) is k x n):
//
//	for jc := 0; jc < n; jc += nc        // B block: kc x nc, packed, lives in L3
//	  for pc := 0; pc < k; pc += kc      // C += A[:, pc:pc+kc] * B[pc:pc+kc, :]
//	    pack op(B)[pc:pc+kc, jc:jc+nc] into nr-wide slivers (all workers share it)
//	    for ic := 0; ic < m; ic += mc    // A block: mc x kc, packed, lives in L2
//	      pack op(A)[ic:ic+mc, pc:pc+kc] into mr-tall slivers (per worker)
//	      for jr := 0; jr < nc; jr += nr       // B sliver: kc x nr, lives in L1
//	        for ir := 0; ir < mc; ir += mr     // A sliver streams from L2
//	          micro-kernel: C[ic+ir:+mr, jc+jr:+nr] = alpha*Asliver*Bsliver + beta'*C
//	                        (prefetching a part of the next B sliver)
//
// beta' is beta for the first k block (pc == 0) and 1 afterwards, so BLAS
// semantics hold: with beta == 0, C is only written. Packing copies op(A) and
// op(B) into the layout the micro-kernel reads, whatever the transpose flags,
// and pads partial slivers with zeros; tiles that stick out of C are computed
// into a small buffer and copied out. Variants with a direct micro-kernel
// read full slivers of an untransposed A in place in narrow products (see
// sgemmBlocking.direct), packing only the partial ones. B packed ahead of
// time (SgemmPacked) skips the packing of B.
//
// Work is split between goroutines over tiles of C (rows, or columns when C
// has few rows), never over k, and every tile of C is produced by the same
// sequence of micro-kernel calls whatever the split, so results are bitwise
// identical for every thread count.

// sgemmMicroKernel computes, for a packed panel a of mr rows (a[p*mr+i]) and
// a packed panel b of nr columns (b[p*nr+j]), both of length k:
//
//	for i := 0; i < mr; i++ {
//		for j := 0; j < nr; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[p*mr+i] * b[p*nr+j]
//			}
//			if beta == 0 {
//				c[i*ldc+j] = alpha * s // c is not read
//			} else {
//				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//			}
//		}
//	}
//
// k >= 1. The pointers address the first element of each panel and of the
// mr x nr tile of C. pf is a hint: the kernel may prefetch, in trip t of
// its loop over p (unroll steps a trip), the 64-byte line at pf + 64*t.
type sgemmMicroKernel func(k int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)

// sgemmDirectKernel is an sgemmMicroKernel that reads its mr rows of A in
// place, row i at a[i*lda:], instead of a packed panel (a[p*mr+i] becomes
// a[i*lda+p]); it sums the same products in the same order, so the tile is
// bitwise the same.
type sgemmDirectKernel func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, pf *float32)

// sgemmEdgeKernel computes rows < mr rows of C across several slivers of B
// (bs floats apart) from a packed panel of A with stride mr, with the
// products and rounding of the full micro-kernel, so that a partial sliver
// of A keeps as many accumulators busy as a full one:
//
//	c[i*ldc+s*nr+j] = alpha*sum_p a[p*mr+i]*b[s*bs+p*nr+j] (+ beta*c[...])
type sgemmEdgeKernel func(k int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32)

// sgemmEdge is an edge kernel with the slivers of B it spans.
type sgemmEdge struct {
	kernel  sgemmEdgeKernel
	slivers int
}

// sgemmBlocking describes one variant of the blocked SGEMM: its micro-kernel
// with the tile it computes, and the cache block sizes tuned for it.
type sgemmBlocking struct {
	kernel sgemmMicroKernel
	// direct, if set, is the kernel for untransposed A read in place: the
	// driver then packs only the last, partial sliver of each A block. It
	// is used for products of at most directMaxN columns: a packed block
	// of A serves n/nr slivers of B, so packing costs most where n is
	// small, while reading mr rows lda apart from L2 (mr short streams
	// over more pages) makes each pass a little slower than reading a
	// packed panel. BenchmarkSgemmDirect (AVX2, Zen 4, medians of 6):
	// in place was up to 9% faster at n = 64 and 128, level at 512 and 1-7%
	// slower at 768 and 3072.
	direct     sgemmDirectKernel
	directMaxN int
	// unroll is the k steps per trip of the kernels' loop, in each of
	// which they prefetch a cache line from their pf argument. The driver
	// points pf of successive tiles at successive parts of the next sliver
	// of B, so that it is in L1 by the time the current one is done: a
	// sliver packed ahead of time comes from memory, and fetched on demand
	// it stalls the first tile of its column (BERT-base batch 1 spent about
	// a tenth of its micro-kernel time so). 0: the kernels do not prefetch.
	unroll int
	// edge[r], if set, computes the last sliver of an A block when it has
	// r < mr rows (BERT's 128 rows are 21 slivers of 6 and one of 2): the
	// full kernel would spend mr rows' work on it.
	edge   []sgemmEdge
	mr, nr int // micro-kernel tile: mr rows by nr columns of C
	mc     int // rows of the packed A block (a multiple of mr): mc*kc floats in L2
	kc     int // depth of a block: kc*nr floats of B in L1, with room for A
	nc     int // columns of the packed B block (a multiple of nr)

	// parallelWork is the least m*n*k worth a worker of its own: smaller
	// products run on fewer goroutines (down to one, on the caller's).
	parallelWork int
	// smallWork: products whose n*k is at most this run in sgemmSmall,
	// without packing, which costs a few hundred ns up front (on Zen 4 the
	// packed path wins from about m = n = k = 6 on). The choice depends on
	// n and k only, never on m, so that a row of C comes out the same
	// whatever the rows computed with it: a request alone or in a batch of
	// others (bert.Model.ForwardMixed relies on it).
	smallWork int
	// groupFloats overrides sgemmGroupFloats (for tests).
	groupFloats int
}

// sgemmBlockings holds the blocked SGEMM of each variant that has one (see
// register), for SgemmPacked and tests.
var sgemmBlockings [numVariants]*sgemmBlocking

// register makes g variant v's SGEMM, in sgemmOp and sgemmBlockings.
func (g *sgemmBlocking) register(v Variant) {
	sgemmBlockings[v] = g
	sgemmOp.set(v, g.sgemm)
}

// sgemm is the blocked driver: an sgemmFunc for this variant.
func (g *sgemmBlocking) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		sgemmScale(m, n, beta, c, ldc)
		return
	}
	if g.small(n, k) {
		sgemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	workers := g.workers(m, n, k)
	j := sgemmJobs.get()
	j.setup(g, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	runWorkers(workers, j, &j.group)
	j.a, j.b, j.c = nil, nil, nil // do not keep the caller's matrices alive
	sgemmJobs.put(j)
}

// small reports whether products of n columns and depth k run in
// sgemmSmall (see smallWork).
func (g *sgemmBlocking) small(n, k int) bool { return n*k <= g.smallWork }

// workers is how many goroutines a product of m*n*k multiply-adds gets:
// Threads, fewer for small products, at most one per tile to share.
func (g *sgemmBlocking) workers(m, n, k int) int {
	workers := opThreads()
	if g.parallelWork > 0 {
		workers = min(workers, max(1, m*n*k/g.parallelWork))
	}
	return min(workers, g.maxWorkers(m, n))
}

// maxWorkers bounds the workers by the tiles there are to share.
func (g *sgemmBlocking) maxWorkers(m, n int) int {
	return max((m+g.mr-1)/g.mr, (min(n, g.nc)+g.nr-1)/g.nr)
}

// sgemmSmall computes a small product directly, one dot product per
// element of C (alpha != 0, k > 0).
func sgemmSmall(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		for j := range crow {
			var s float32
			if !transA && transB {
				// Both operands contiguous over p.
				ar := a[i*lda : i*lda+k]
				br := b[j*ldb : j*ldb+k][:len(ar)]
				for p, x := range ar {
					s += x * br[p]
				}
			} else {
				ai, as := i*lda, 1 // op(A)(i, p) = a[ai+p*as]
				if transA {
					ai, as = i, lda
				}
				bj, bs := j, ldb // op(B)(p, j) = b[bj+p*bs]
				if transB {
					bj, bs = j*ldb, 1
				}
				for p := 0; p < k; p++ {
					s += a[ai+p*as] * b[bj+p*bs]
				}
			}
			if beta == 0 {
				crow[j] = alpha * s
			} else {
				crow[j] = alpha*s + beta*crow[j]
			}
		}
	}
}

// sgemmScale sets C = beta*C, or C = 0 without reading C when beta is 0.
func sgemmScale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// sgemmJob is one blocked SGEMM call: its arguments, the split between
// workers and the packing buffers, which are kept (in sgemmJobs) for the next
// call so that steady-state calls do not allocate.
type sgemmJob struct {
	g              *sgemmBlocking
	workers        int
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	kc       int          // depth of every k block but possibly the last
	mc       int          // height of the blocks of A (g.mc, larger for far rows of a transposed A)
	direct   bool         // read full slivers of A in place (g.direct)
	rowSplit bool         // split rows of C between workers (else columns)
	kGroup   int          // k blocks of B packed at a time in a row split
	next     atomic.Int64 // in a row split: next block of rows to take

	group workerGroup
	bar   barrier
	bufB  []float32   // packed B block, kc x nc, shared in a row split
	local []sgemmWork // per worker

	packed *PackedB // B packed ahead of time (SgemmPacked); nil: pack here
}

// sgemmWork is a worker's own packing buffers and edge tile.
type sgemmWork struct {
	bufA []float32 // packed A block, mc x kc
	bufB []float32 // packed B block in a column split
	tile []float32 // mr x nr tile for the edges of C
}

// sgemmGroupFloats bounds the packed B that a row split prepares at once
// (16 MiB): enough for all of k in BERT-sized products, so the workers wait
// for each other once per product rather than twice per k block.
const sgemmGroupFloats = 4 << 20

// sgemmJobs keeps finished jobs with their buffers. (Not a sync.Pool: its
// items vanish at every other garbage collection, and the buffers are large.)
var sgemmJobs freeList[sgemmJob]

func (j *sgemmJob) setup(g *sgemmBlocking, workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	j.g, j.workers = g, workers
	j.transA, j.transB = transA, transB
	j.m, j.n, j.k = m, n, k
	j.alpha, j.beta = alpha, beta
	j.a, j.lda, j.b, j.ldb, j.c, j.ldc = a, lda, b, ldb, c, ldc

	// Blocks of equal depth: k = 300 with kc = 256 is done as 2 x 150, not
	// 256 + 44 (a thin last block wastes the micro-kernel's prologue and
	// epilogue). Depends on k only, never on the thread count.
	j.kc = blockDepth(k, g.kc)
	j.direct = g.direct != nil && !transA && n <= g.directMaxN
	kBlocks := (k + j.kc - 1) / j.kc

	// Split rows unless C is too short to give every worker several row
	// tiles; then split columns (every worker packs the small A itself).
	rowTiles := (m + g.mr - 1) / g.mr
	j.rowSplit = rowTiles >= 4*workers || rowTiles*g.mr >= min(n, g.nc)
	if j.packed != nil && m <= g.mc && k*n >= 1<<18 {
		// B packed ahead of time is read from memory, not from a
		// block packed into the cache: with a single block of rows and
		// a B larger than L2 (1 MiB), a row split would have every
		// worker stream all of B, a column split streams it once
		// (each worker then packs A, which is small).
		j.rowSplit = false
	}
	j.bar.reset(workers)
	j.next.Store(0)

	nc := min(n, g.nc)
	sizeB := ((nc + g.nr - 1) / g.nr) * g.nr * j.kc
	j.kGroup = 1
	if j.rowSplit {
		if workers > 1 {
			// Pack up to sgemmGroupFloats of B (in whole k blocks) between
			// two waits.
			limit := g.groupFloats
			if limit == 0 {
				limit = sgemmGroupFloats
			}
			j.kGroup = max(1, min(kBlocks, limit/sizeB))
		}
		if j.packed == nil {
			j.bufB = grow(j.bufB, j.kGroup*sizeB)
		}
	}
	if cap(j.local) < workers {
		j.local = append(j.local[:cap(j.local)], make([]sgemmWork, workers-cap(j.local))...)
	}
	j.local = j.local[:workers]
	j.mc = g.mc
	if j.transA && j.lda >= farRows {
		j.mc = farMC * g.mc
	}
	mc := min(j.mc, (m+g.mr-1)/g.mr*g.mr)
	for w := range j.local {
		j.local[w].bufA = grow(j.local[w].bufA, mc*j.kc)
		j.local[w].tile = grow(j.local[w].tile, g.mr*g.nr)
		if !j.rowSplit && j.packed == nil {
			j.local[w].bufB = grow(j.local[w].bufB, sizeB)
		}
	}
}

// grow returns s resliced to length n, reallocated if its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// split returns the part [lo, hi) of [0, n) that worker w of workers owns.
func split(n, workers, w int) (lo, hi int) {
	return n * w / workers, n * (w + 1) / workers
}

// abort releases the workers waiting for a worker that failed (see
// aborter).
func (j *sgemmJob) abort() { j.bar.abort() }

// run is worker w's share of the product.
func (j *sgemmJob) run(w int) {
	if j.packed != nil {
		j.runPacked(w)
	} else if j.rowSplit {
		j.runRows(w)
	} else {
		j.runCols(w)
	}
}

// runRows computes rows of C: the workers pack each B block together, wait
// for each other, then take blocks of rows of C (at most mc, whole tiles)
// one at a time from a shared counter and multiply them by the packed block,
// so that a worker slowed down by other load on the machine does less of
// the work. Which worker computes a block does not change its result. With
// j.kGroup > 1, that many consecutive k blocks of B are packed between two
// waits (each wait costs a goroutine hand-off and exposes imbalance), and a
// block of rows goes through all of them, in order of k, before the next.
func (j *sgemmJob) runRows(w int) {
	g := j.g
	mr, nr := g.mr, g.nr
	local := &j.local[w]
	group := j.kGroup * j.kc // depth packed between two waits
	blocks, blockTiles := j.rowBlocks()
	base := int64(0) // first ticket of this group's blocks
	for jc := 0; jc < j.n; jc += g.nc {
		nc := min(g.nc, j.n-jc)
		s0, s1 := split((nc+nr-1)/nr, j.workers, w)
		blockSize := (nc + nr - 1) / nr * nr * j.kc // one packed k block
		for pg := 0; pg < j.k; pg += group {
			if pg > 0 || jc > 0 {
				j.bar.wait() // nobody reads the packed blocks any more
			}
			for q, pc := 0, pg; pc < min(j.k, pg+group); q, pc = q+1, pc+j.kc {
				if s0 < s1 {
					kc := min(j.kc, j.k-pc)
					packB(j.bufB[q*blockSize+s0*nr*j.kc:], nr*j.kc, nr, j.transB, j.b, j.ldb, pc, kc, jc+s0*nr, min(nc, s1*nr)-s0*nr)
				}
			}
			j.bar.wait() // the packed blocks are complete
			end := base + int64(blocks)
			for {
				t := j.next.Load()
				if t >= end {
					break
				}
				if !j.next.CompareAndSwap(t, t+1) {
					continue
				}
				r0 := int(t-base) * blockTiles * mr
				r1 := min(j.m, r0+blockTiles*mr)
				for q, pc := 0, pg; pc < min(j.k, pg+group); q, pc = q+1, pc+j.kc {
					kc := min(j.kc, j.k-pc)
					beta := j.beta
					if pc > 0 {
						beta = 1
					}
					j.rows(local, j.bufB[q*blockSize:], r0, r1, pc, kc, jc, nc, beta)
				}
			}
			base = end
		}
	}
}

// rowBlocks returns how a row split cuts C: blocks of blockTiles tiles
// of rows (at most mc rows, whole tiles; the last block may be shorter).
func (j *sgemmJob) rowBlocks() (blocks, blockTiles int) {
	mr := j.g.mr
	tiles := (j.m + mr - 1) / mr
	blocks = (tiles + j.g.mc/mr - 1) / (j.g.mc / mr)
	if j.workers > 1 {
		// At least two blocks per worker, for balance on short C.
		blocks = max(blocks, min(tiles, 2*j.workers))
	}
	blockTiles = (tiles + blocks - 1) / blocks // rows of C per block, in tiles
	return (tiles + blockTiles - 1) / blockTiles, blockTiles
}

// runCols computes columns of C: each worker packs its own blocks of B into
// its own buffer and multiplies all rows by them; nobody waits.
func (j *sgemmJob) runCols(w int) {
	g := j.g
	nr := g.nr
	local := &j.local[w]
	s0, s1 := split((j.n+nr-1)/nr, j.workers, w)
	c0, c1 := s0*nr, min(j.n, s1*nr)
	for jc := c0; jc < c1; jc += g.nc {
		nc := min(g.nc, c1-jc)
		for pc := 0; pc < j.k; pc += j.kc {
			kc := min(j.kc, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			packB(local.bufB, nr*j.kc, nr, j.transB, j.b, j.ldb, pc, kc, jc, nc)
			j.rows(local, local.bufB, 0, j.m, pc, kc, jc, nc, beta)
		}
	}
}

// A transposed A whose rows (op(A)'s columns) lie at least farRows values
// apart (the gradient of a vocabulary-wide output, say) is packed in
// blocks farMC times the usual height, so that each of its rows is read in
// longer runs, and four rows at a time (packSlivers), so that their cache
// misses overlap: the usual block reads a few cache lines of every row
// and waits for memory at each.
const farRows, farMC = 4096, 4

// rows computes C[r0:r1, jc:jc+nc] += (k block pc:pc+kc) for one worker:
// packs A in blocks of at most mc rows and runs the micro-kernel over them
// against the packed B block bufB (slivers nr*j.kc apart). r0 is a multiple
// of mr, jc of nr. With a direct kernel and untransposed A, full slivers of
// A are read in place and only a block's last, partial sliver is packed.
func (j *sgemmJob) rows(local *sgemmWork, bufB []float32, r0, r1, pc, kc, jc, nc int, beta float32) {
	g := j.g
	mr, nr := g.mr, g.nr
	direct := j.direct
	// Blocks of equal height (in whole tiles), as for kc.
	tiles := (r1 - r0 + mr - 1) / mr
	mcTiles := j.mc / mr
	blocks := (tiles + mcTiles - 1) / mcTiles
	mcTiles = (tiles + blocks - 1) / blocks
	for ic := r0; ic < r1; ic += mcTiles * mr {
		mc := min(mcTiles*mr, r1-ic)
		full := mc // rows read in place
		if direct {
			full = mc / mr * mr
			if full < mc {
				packA(local.bufA[full*kc:], mr, false, j.a, j.lda, ic+full, mc-full, pc, kc)
			}
		} else {
			packA(local.bufA, mr, j.transA, j.a, j.lda, ic, mc, pc, kc)
		}
		// The next sliver is prefetched in chunks of the lines (16 floats)
		// that one tile asks for, spread evenly over the tiles of the
		// current sliver: asked for all at once it would push the current
		// one out of L1. The other tiles point pf at the current sliver.
		lines, share, every := kc*nr/16, 0, 1
		if g.unroll > 0 && kc >= g.unroll {
			share = kc / g.unroll
			chunks := (lines + share - 1) / share
			every = max(1, (mc+mr-1)/mr/chunks)
		}
		// Rows of the tiles below: all, or the full slivers only when an
		// edge kernel takes the partial one.
		tileRows := mc
		if part := mc % mr; part > 0 && part < len(g.edge) && g.edge[part].kernel != nil {
			tileRows = mc - part
		}
		for jr := 0; jr < nc; jr += nr {
			pb := &bufB[jr*j.kc] // sliver jr/nr
			cols := min(nr, nc-jr)
			var next []float32
			if share > 0 && jr+nr < nc {
				next = bufB[(jr+nr)*j.kc : (jr+nr)*j.kc+kc*nr]
			}
			for ir := 0; ir < tileRows; ir += mr {
				pf := pb
				if t := ir / mr; next != nil && t%every == 0 && t/every*share < lines {
					pf = &next[min(t/every*share, lines-share)*16]
				}
				rows := min(mr, mc-ir)
				ci := (ic+ir)*j.ldc + jc + jr
				// A tile that sticks out of C is computed (alpha*A*B)
				// into the tile buffer and merged.
				dst, ldd, bt := &j.c[ci], j.ldc, beta
				edge := rows < mr || cols < nr
				if edge {
					dst, ldd, bt = &local.tile[0], nr, 0
				}
				if direct && ir < full {
					g.direct(kc, &j.a[(ic+ir)*j.lda+pc], j.lda, pb, dst, ldd, j.alpha, bt, pf)
				} else {
					g.kernel(kc, &local.bufA[ir*kc], pb, dst, ldd, j.alpha, bt, pf)
				}
				if edge {
					j.mergeTile(local.tile, ci, rows, cols, beta)
				}
			}
		}
		if tileRows == mc {
			continue
		}
		// The partial sliver of A, packed at tileRows, across e.slivers
		// slivers of B at a time; the last few through the tile buffer.
		e, rows := g.edge[mc-tileRows], mc-tileRows
		pa := &local.bufA[tileRows*kc]
		for jr := 0; jr < nc; jr += nr {
			ci := (ic+tileRows)*j.ldc + jc + jr
			if jr%(e.slivers*nr) == 0 && jr+e.slivers*nr <= nc {
				e.kernel(kc, pa, &bufB[jr*j.kc], nr*j.kc, &j.c[ci], j.ldc, j.alpha, beta)
				jr += (e.slivers - 1) * nr
				continue
			}
			g.kernel(kc, pa, &bufB[jr*j.kc], &local.tile[0], nr, j.alpha, 0, &bufB[jr*j.kc])
			j.mergeTile(local.tile, ci, rows, min(nr, nc-jr), beta)
		}
	}
}

// mergeTile merges the edge tile t (alpha*A*B, rows x cols of it used, nr
// apart) into C at ci: C = t + beta*C.
func (j *sgemmJob) mergeTile(t []float32, ci, rows, cols int, beta float32) {
	nr := j.g.nr
	for i := 0; i < rows; i++ {
		crow := j.c[ci+i*j.ldc : ci+i*j.ldc+cols]
		trow := t[i*nr : i*nr+cols]
		if beta == 0 {
			copy(crow, trow)
			continue
		}
		for x, v := range trow {
			crow[x] = v + beta*crow[x]
		}
	}
}

// packA copies op(A)[i0:i0+mc, p0:p0+kc] into dst as mr-row slivers: sliver
// s holds rows i0+s*mr.. in dst[s*mr*kc:], element (i, p) at p*mr+i, with
// rows past mc set to zero.
func packA(dst []float32, mr int, transA bool, a []float32, lda, i0, mc, p0, kc int) {
	if transA {
		// op(A)(i, p) = a[p*lda+i]: each p gives mc contiguous values.
		packSlivers(dst, mr*kc, mr, a, p0*lda+i0, lda, mc, kc)
		return
	}
	for s := 0; s*mr < mc; s++ {
		rows := min(mr, mc-s*mr)
		d := dst[s*mr*kc : (s+1)*mr*kc]
		r0 := i0 + s*mr
		// op(A)(i, p) = a[i*lda+p]: row i is contiguous over p.
		packRows(d, mr, a, r0*lda+p0, lda, rows, kc)
		for i := rows; i < mr; i++ {
			for p := 0; p < kc; p++ {
				d[p*mr+i] = 0
			}
		}
	}
}

// packSlivers copies kc rows of n values, the first at a[off:], ld apart,
// into slivers of w columns, sliverStride apart in d: element (p, c) goes
// to d[(c/w)*sliverStride+p*w+c%w], and the last sliver's columns past n
// are zero. It reads the source a row at a time, front to back: a block
// whose rows lie far apart (the transposed gradient of a wide output, say)
// costs one run of contiguous reads per row instead of one short read per
// row and sliver.
func packSlivers(d []float32, sliverStride, w int, a []float32, off, ld, n, kc int) {
	full := n / w
	p0 := 0
	if w == 6 && ld >= farRows { // four rows far apart at a time (farRows)
		for ; p0+4 <= kc; p0 += 4 {
			r0 := a[off+p0*ld : off+p0*ld+n]
			r1 := a[off+(p0+1)*ld : off+(p0+1)*ld+n][:len(r0)]
			r2 := a[off+(p0+2)*ld : off+(p0+2)*ld+n][:len(r0)]
			r3 := a[off+(p0+3)*ld : off+(p0+3)*ld+n][:len(r0)]
			q := p0 * 6
			for s := 0; s < full; s++ {
				v0 := *(*[6]float32)(r0[s*6:])
				v1 := *(*[6]float32)(r1[s*6:])
				v2 := *(*[6]float32)(r2[s*6:])
				v3 := *(*[6]float32)(r3[s*6:])
				*(*[6]float32)(d[q:]) = v0
				*(*[6]float32)(d[q+6:]) = v1
				*(*[6]float32)(d[q+12:]) = v2
				*(*[6]float32)(d[q+18:]) = v3
				q += sliverStride
			}
			for i, row := range [4][]float32{r0, r1, r2, r3} {
				packRest(d, full*sliverStride+(p0+i)*w, w, row[full*w:])
			}
		}
	}
	for p := p0; p < kc; p++ {
		row := a[off+p*ld : off+p*ld+n]
		q := p * w
		// Each case copies through a local array: a copy from one slice's
		// array to another's may overlap, and compiles to a call of
		// runtime.memmove, which costs more than the copy at these widths.
		switch w {
		case 6:
			for s := 0; s < full; s++ {
				v := *(*[6]float32)(row[s*6:])
				*(*[6]float32)(d[q:]) = v
				q += sliverStride
			}
		case 8:
			for s := 0; s < full; s++ {
				v := *(*[8]float32)(row[s*8:])
				*(*[8]float32)(d[q:]) = v
				q += sliverStride
			}
		case 12:
			for s := 0; s < full; s++ {
				v := *(*[12]float32)(row[s*12:])
				*(*[12]float32)(d[q:]) = v
				q += sliverStride
			}
		case 16:
			for s := 0; s < full; s++ {
				v := *(*[16]float32)(row[s*16:])
				*(*[16]float32)(d[q:]) = v
				q += sliverStride
			}
		case 32:
			for s := 0; s < full; s++ {
				v := *(*[32]float32)(row[s*32:])
				*(*[32]float32)(d[q:]) = v
				q += sliverStride
			}
		default:
			for s := 0; s < full; s++ {
				copy(d[q:q+w], row[s*w:s*w+w])
				q += sliverStride
			}
		}
		packRest(d, q, w, row[full*w:])
	}
}

// packRest writes a row of the last, partial sliver at d[q:q+w]: the rest
// of a source row, then zeros (nothing when there is no partial sliver).
func packRest(d []float32, q, w int, rest []float32) {
	if len(rest) > 0 {
		d = d[q : q+w]
		copy(d, rest)
		clear(d[len(rest):])
	}
}

// packRowsFunc interleaves rows rows of kc values, the first at a[off:], ld
// apart, into d with stride stride (>= rows):
//
//	for i := 0; i < rows; i++ {
//		for p := 0; p < kc; p++ {
//			d[p*stride+i] = a[off+i*ld+p]
//		}
//	}
//
// Nothing else in d is written.
type packRowsFunc func(d []float32, stride int, a []float32, off, ld, rows, kc int)

// packRowsOp holds packRows of each variant. The pack serves the blocked
// SGEMM of every variant and runs the implementation of the active one
// (which this CPU can run); all give the same result.
var packRowsOp = newOpTable[packRowsFunc]("packRows", packRowsGeneric)

// packRows is the packRowsFunc of the active variant: it transposes a rows x
// kc block of a row-major matrix into columns of d.
func packRows(d []float32, stride int, a []float32, off, ld, rows, kc int) {
	packRowsOp.active()(d, stride, a, off, ld, rows, kc)
}

// packRowsGeneric is the packRowsFunc in Go: 8 or 6 rows at a time, then
// the rows left one by one.
func packRowsGeneric(d []float32, stride int, a []float32, off, ld, rows, kc int) {
	packRowsBy(packRows8, packRows6, d, stride, a, off, ld, rows, kc)
}

// packBlock transposes a block of a fixed number of rows (packRows8,
// packRows6 and their vector versions).
type packBlock func(d []float32, stride int, a []float32, off, ld, kc int)

// packRowsBy is packRows with blocks of 8 rows by p8 while 8 are left, one
// block of 6 by p6 if 6 are left, then the rest one row at a time.
func packRowsBy(p8, p6 packBlock, d []float32, stride int, a []float32, off, ld, rows, kc int) {
	for ; rows >= 8; rows -= 8 {
		p8(d, stride, a, off, ld, kc)
		d, off = d[8:], off+8*ld
	}
	if rows >= 6 {
		p6(d, stride, a, off, ld, kc)
		d, off, rows = d[6:], off+6*ld, rows-6
	}
	packRowsEach(d, stride, a, off, ld, rows, kc)
}

// packRowsEach is packRows one row at a time.
func packRowsEach(d []float32, stride int, a []float32, off, ld, rows, kc int) {
	for i := 0; i < rows; i++ {
		for p, v := range a[off+i*ld : off+i*ld+kc] {
			d[p*stride+i] = v
		}
	}
}

// packRows8 is packRows for 8 rows.
func packRows8(d []float32, stride int, a []float32, off, ld, kc int) {
	r0 := a[off : off+kc]
	r1 := a[off+ld : off+ld+kc][:len(r0)]
	r2 := a[off+2*ld : off+2*ld+kc][:len(r0)]
	r3 := a[off+3*ld : off+3*ld+kc][:len(r0)]
	r4 := a[off+4*ld : off+4*ld+kc][:len(r0)]
	r5 := a[off+5*ld : off+5*ld+kc][:len(r0)]
	r6 := a[off+6*ld : off+6*ld+kc][:len(r0)]
	r7 := a[off+7*ld : off+7*ld+kc][:len(r0)]
	for p := range r0 {
		q := d[stride*p : stride*p+8 : stride*p+8]
		q[0], q[1], q[2], q[3] = r0[p], r1[p], r2[p], r3[p]
		q[4], q[5], q[6], q[7] = r4[p], r5[p], r6[p], r7[p]
	}
}

// packRows6 is packRows for 6 rows.
func packRows6(d []float32, stride int, a []float32, off, ld, kc int) {
	r0 := a[off : off+kc]
	r1 := a[off+ld : off+ld+kc][:len(r0)]
	r2 := a[off+2*ld : off+2*ld+kc][:len(r0)]
	r3 := a[off+3*ld : off+3*ld+kc][:len(r0)]
	r4 := a[off+4*ld : off+4*ld+kc][:len(r0)]
	r5 := a[off+5*ld : off+5*ld+kc][:len(r0)]
	for p := range r0 {
		q := d[stride*p : stride*p+6 : stride*p+6]
		q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packB copies op(B)[p0:p0+kc, j0:j0+nc] into dst as nr-column slivers:
// sliver s holds columns j0+s*nr.. in dst[s*stride:], element (p, j) at
// p*nr+j, with columns past nc set to zero. stride >= nr*kc.
func packB(dst []float32, stride, nr int, transB bool, b []float32, ldb, p0, kc, j0, nc int) {
	if !transB {
		// op(B)(p, j) = b[p*ldb+j]: each p gives nc contiguous values.
		packSlivers(dst, stride, nr, b, p0*ldb+j0, ldb, nc, kc)
		return
	}
	for s := 0; s*nr < nc; s++ {
		cols := min(nr, nc-s*nr)
		d := dst[s*stride : s*stride+nr*kc]
		c0 := j0 + s*nr
		// op(B)(p, j) = b[j*ldb+p]: column j of op(B) is contiguous over p.
		packRows(d, nr, b, c0*ldb+p0, ldb, cols, kc)
		for j := cols; j < nr; j++ {
			for p := 0; p < kc; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}
