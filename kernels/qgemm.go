package kernels

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// Int8 products of frozen weights. A dense layer's y = x·Wᵀ with W frozen
// can run on 8-bit integers: W quantized once, symmetric, one scale per
// output channel (QuantizeB); each row of x quantized on the fly,
// asymmetric, one scale and zero point per row, to 7 bits (0 <= q <= 127,
// so that no variant's integer product can saturate); products accumulated
// exactly in int32; the sums scaled back to float32. Integer arithmetic is
// exact, and the quantization and scaling are done by the same Go code for
// every variant, so every variant and every thread count gives results
// bitwise identical to the pure-Go reference.
//
// The contract, for row i of x and output channel j (float32 operations,
// roundEven rounding half to even):
//
//	lo, hi = min(0, min_k x[i,k]), max(0, max_k x[i,k])
//	inv    = 127 / (hi - lo);  sa = (hi - lo) / 127
//	zp     = clamp(roundEven(-lo * inv), 0, 127)
//	q[k]   = clamp(roundEven(x[i,k] * inv) + zp, 0, 127)
//	acc    = Σ_k (q[k] - zp) * W8[j,k]             (int32, exact)
//	y[i,j] = float32(acc) * (sa * sw[j])
//
// where W8[j,k] = clamp(roundEven(W[j,k] * (127/wmax_j)), -127, 127) and
// sw[j] = wmax_j / 127. A row of zeros gives zeros; a row holding an
// infinity or NaN, or whose range hi - lo overflows float32, gives NaN
// across its output row.

const (
	// QNR is the number of output channels in one sliver of a QuantizedB.
	QNR = 16
	// QKG is the number of k values stored together for one channel.
	QKG = 4
	// qActMax is the largest quantized activation (7 bits).
	qActMax = 127
	// qWeightMax is the largest |q| of a quantized weight.
	qWeightMax = 127
)

// QuantizedB is a frozen weight matrix W [N, K] (used as x·Wᵀ) quantized to
// int8 for Qgemm, in one layout for every variant: the channels cut into
// slivers of QNR (the last padded with zero channels), k into groups of
// QKG (the last padded with zeros); byte (j, k) of sliver s = j/QNR is at
//
//	s*KPad*QNR + (k/QKG)*QNR*QKG + (j%QNR)*QKG + k%QKG
//
// with KPad = K rounded up to a multiple of QKG.
type QuantizedB struct {
	N, K  int
	Data  []int8    // the layout above, QuantizedBSize(N, K) bytes
	Scale []float32 // [N]: sw, the dequantization scale of each channel
	sum   []int32   // [N rounded up to QNR]: Σ_k W8[j,k], zero past N
	scale []float32 // [N rounded up to QNR]: Scale, zero past N
}

// QuantizedBSize returns the number of bytes of the layout of an n x k
// QuantizedB.
func QuantizedBSize(n, k int) int { return qPadN(n) * qPadK(k) }

func qPadN(n int) int { return (n + QNR - 1) / QNR * QNR }
func qPadK(k int) int { return (k + QKG - 1) / QKG * QKG }

// QuantizeB quantizes w [n, k] into dst (QuantizedBSize(n, k) bytes, or nil
// to allocate) and returns the operand. A channel of zeros has scale 0; a
// non-finite weight is an error.
func QuantizeB(dst []int8, w []float32, n, k int) (*QuantizedB, error) {
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("kernels.QuantizeB: shape %d x %d", n, k)
	}
	need("QuantizeB", "w", w, n*k)
	size := QuantizedBSize(n, k)
	if dst == nil {
		dst = make([]int8, size)
	}
	if len(dst) < size {
		return nil, fmt.Errorf("kernels.QuantizeB: %d bytes for a layout of %d", len(dst), size)
	}
	dst = dst[:size]
	clear(dst)
	scale := make([]float32, n)
	for j := range n {
		row := w[j*k : (j+1)*k]
		var amax float32
		for p, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("kernels.QuantizeB: weight [%d, %d] is %v", j, p, v)
			}
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if amax == 0 {
			continue
		}
		inv := float32(qWeightMax) / amax
		scale[j] = amax / qWeightMax
		for p, v := range row {
			dst[qIndex(j, p, k)] = int8(clampRound(v*inv, -qWeightMax, qWeightMax))
		}
	}
	return newQuantizedB(dst, scale, n, k)
}

// QuantizedBFrom returns the operand over data and scale as QuantizeB made
// them (a file holding them, memory-mapped), after checking their sizes
// and that the padding is zero.
func QuantizedBFrom(data []int8, scale []float32, n, k int) (*QuantizedB, error) {
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("kernels.QuantizedBFrom: shape %d x %d", n, k)
	}
	if len(data) != QuantizedBSize(n, k) || len(scale) != n {
		return nil, fmt.Errorf("kernels.QuantizedBFrom: %d bytes and %d scales for %d x %d (want %d and %d)",
			len(data), len(scale), n, k, QuantizedBSize(n, k), n)
	}
	for j, s := range scale {
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("kernels.QuantizedBFrom: scale of channel %d is %v", j, s)
		}
	}
	return newQuantizedB(data, scale, n, k)
}

// newQuantizedB computes the channel sums and checks the padding.
func newQuantizedB(data []int8, scale []float32, n, k int) (*QuantizedB, error) {
	kp := qPadK(k)
	sum := make([]int32, qPadN(n))
	for s := 0; s < qPadN(n); s += QNR {
		base := s * kp
		for g := 0; g < kp; g += QKG {
			for jj := range QNR {
				for t := range QKG {
					v := data[base+g*QNR+jj*QKG+t]
					j, p := s+jj, g+t
					if j >= n || p >= k {
						if v != 0 {
							return nil, fmt.Errorf("kernels: quantized weights: padding byte (%d, %d) is %d, want 0", j, p, v)
						}
						continue
					}
					sum[j] += int32(v)
				}
			}
		}
	}
	padded := make([]float32, qPadN(n))
	copy(padded, scale)
	return &QuantizedB{N: n, K: k, Data: data, Scale: scale, sum: sum, scale: padded}, nil
}

// qIndex is the position of W8[j, p] in the layout of an n x k QuantizedB.
func qIndex(j, p, k int) int {
	return (j/QNR)*qPadK(k)*QNR + (p/QKG)*QNR*QKG + (j%QNR)*QKG + p%QKG
}

// At returns W8[j, p].
func (qb *QuantizedB) At(j, p int) int8 { return qb.Data[qIndex(j, p, qb.K)] }

// clampRound rounds x half to even and clamps it to [lo, hi].
func clampRound(x float32, lo, hi int32) int32 {
	r := math.RoundToEven(float64(x))
	return int32(max(float64(lo), min(float64(hi), r)))
}

// qTile computes one tile of Qgemm's output, mr rows (the variant's rows
// per tile, see qVariant) by QNR channels: for r < mr and j < QNR,
//
//	s := Σ_{p < kp} A(r, p) * b[(p/QKG)*QNR*QKG + j*QKG + p%QKG]  (int32, exact)
//	c[r*ldc+j] = float32(s - zp[r]*sum[j]) * (sa[r] * scale[j])
//
// where A(r, p) is byte a[r*lda+p] read as unsigned, or as signed for a
// variant with signed set (see qVariant), b is one sliver of a QuantizedB
// (kp = KPad bytes per channel), sum and scale its channels' sums and
// scales, and zp and sa the rows' zero points and scales: the contract of
// Qgemm for one tile. It always computes mr rows and 16 channels: Qgemm
// pads its quantized rows to a multiple of mr, and hands a partial tile a
// buffer of its own. The generated tiles have this signature and contract
// (see internal/gen/contract/qgemm.go), so they are used as they are.
type qTile func(c []float32, ldc int, a []byte, lda int, b []int8, kp int, zp []int32, sa []float32, sum []int32, scale []float32)

const (
	// qMR is the rows per tile of the reference tile.
	qMR = 4
	// qMaxMR bounds the rows per tile of every variant.
	qMaxMR = 12
)

// qVariant is how one kernel variant computes Qgemm's integer tiles.
type qVariant struct {
	tile qTile
	// mr is the number of rows tile computes, 1..qMaxMR.
	mr int
	// signed is set for tiles whose instruction multiplies signed bytes
	// (NEON's SDOT): the activations are stored as q-64, and the sums are
	// corrected by (zp-64)·Σ_k W8[j,k] instead of zp·Σ_k W8[j,k].
	signed bool
}

var qgemmOp = newOpTable("qgemm", qVariant{tile: qTileGeneric, mr: qMR})

// qTileGeneric is the reference tile over unsigned activations.
func qTileGeneric(c []float32, ldc int, a []byte, lda int, b []int8, kp int, zp []int32, sa []float32, sum []int32, scale []float32) {
	for r := range qMR {
		row := a[r*lda : r*lda+kp]
		out := c[r*ldc : r*ldc+QNR]
		for j := range out {
			var s int32
			for p, av := range row {
				s += int32(av) * int32(b[(p/QKG)*QNR*QKG+j*QKG+p%QKG])
			}
			out[j] = float32(s-zp[r]*sum[j]) * (sa[r] * scale[j])
		}
	}
}

// qScratch is Qgemm's per-call memory: the quantized rows, their scales
// and zero points.
type qScratch struct {
	a  []byte
	sa []float32
	zp []int32 // the zero point each row's sums are corrected by
}

var qScratchPool = sync.Pool{New: func() any { return new(qScratch) }}

// Qgemm computes c = x·Wᵀ for x [m, K] (rows lda apart) and the quantized
// W of qb, by the int8 contract above; c [m, N] (rows ldc apart) is
// overwritten. It does not allocate in steady state.
func Qgemm(m int, x []float32, lda int, qb *QuantizedB, c []float32, ldc int) {
	if m == 0 {
		return
	}
	n, k := qb.N, qb.K
	if m < 0 || lda < k || ldc < n {
		panic(fmt.Sprintf("kernels.Qgemm: m=%d lda=%d ldc=%d for K=%d N=%d", m, lda, ldc, k, n))
	}
	need("Qgemm", "x", x, (m-1)*lda+k)
	need("Qgemm", "c", c, (m-1)*ldc+n)
	v := qgemmOp.active()
	kp := qPadK(k)
	sc := qScratchPool.Get().(*qScratch)
	defer qScratchPool.Put(sc)
	blocks := (m + v.mr - 1) / v.mr
	sc.a = slices.Grow(sc.a[:0], blocks*v.mr*kp)[:blocks*v.mr*kp] // whole tiles: the rows past m are zero
	sc.sa = grow(sc.sa, blocks*v.mr)
	sc.zp = slices.Grow(sc.zp[:0], blocks*v.mr)[:blocks*v.mr]
	clear(sc.sa[m:])
	clear(sc.zp[m:])
	work := m * n * k
	serial := work < 1<<18 || opThreads() == 1
	if serial || m < 2 {
		quantizeRows(sc.a, sc.sa, sc.zp, x, lda, m, k, kp, v.signed)
	} else {
		qRowJobs.Run(m, qRowArgs{dst: sc.a, sa: sc.sa, zp: sc.zp, x: x, lda: lda, k: k, kp: kp, signed: v.signed})
	}
	clear(sc.a[m*kp:])
	slivers := qPadN(n) / QNR
	chunk := min(blocks, max(1, qChunkBytes/(v.mr*kp)))
	args := qArgs{v: v, qb: qb, a: sc.a, sa: sc.sa, zp: sc.zp, c: c, ldc: ldc, m: m, kp: kp, blocks: blocks, chunk: chunk, slivers: slivers}
	if serial {
		qgemmRange(&args, 0, slivers*blocks)
		return
	}
	qgemmJobs.Run(slivers*blocks, args)
}

// qRowArgs are the arguments of quantizeRows for its workers.
type qRowArgs struct {
	dst    []byte
	sa     []float32
	zp     []int32
	x      []float32
	lda, k int
	kp     int
	signed bool
}

// qRowJobs quantizes rows lo..hi-1 of a Qgemm call (each row on its own:
// the split changes no bit).
var qRowJobs = NewJobs(func(a *qRowArgs, lo, hi int) {
	quantizeRows(a.dst[lo*a.kp:], a.sa[lo:hi], a.zp[lo:hi], a.x[lo*a.lda:], a.lda, hi-lo, a.k, a.kp, a.signed)
})

// qChunkBytes bounds the quantized rows of a chunk, the rows that every
// sliver of the weights passes over before the next chunk starts: they stay
// in L2 (and the sliver, kp*16 bytes, in L1 for BERT's k = 768) while the
// weights stream once per chunk, and the chunk's rows of c are written
// together instead of one 16-column strip of every row at a time.
const qChunkBytes = 128 << 10

// qArgs are the arguments of one Qgemm call, for its workers.
type qArgs struct {
	v       qVariant
	qb      *QuantizedB
	a       []byte
	sa, c   []float32
	zp      []int32
	ldc, m  int
	kp      int
	blocks  int
	chunk   int // row blocks per chunk
	slivers int
}

var qgemmJobs = NewJobs(qgemmRange)

// qTilePool holds the buffers of qgemmRange's partial tiles (the tile
// function is called through a variable, so a local array would move to
// the heap on every call).
var qTilePool = sync.Pool{New: func() any { return new([qMaxMR * QNR]float32) }}

// qgemmRange computes tiles lo..hi-1 of a Qgemm call into c. The row
// blocks are cut into chunks of a.chunk blocks; tile t is in chunk
// t/(slivers*chunk), and within a chunk the tiles go sliver by sliver, each
// over the chunk's row blocks. Every tile is computed once, whatever the
// order, so the result does not depend on it or on the threads.
func qgemmRange(a *qArgs, lo, hi int) {
	part := qTilePool.Get().(*[qMaxMR * QNR]float32)
	defer qTilePool.Put(part)
	qb, mr, kp := a.qb, a.v.mr, a.kp
	for t := lo; t < hi; t++ {
		ch := t / (a.slivers * a.chunk)
		nb := min(a.chunk, a.blocks-ch*a.chunk)
		u := t - ch*a.slivers*a.chunk
		s, blk := u/nb, ch*a.chunk+u%nb
		r0, j0 := blk*mr, s*QNR
		rows, cols := min(mr, a.m-r0), min(QNR, qb.N-j0)
		aa, b := a.a[r0*kp:(r0+mr)*kp], qb.Data[s*QNR*kp:(s+1)*QNR*kp]
		zp, sa := a.zp[r0:r0+mr], a.sa[r0:r0+mr]
		sum, scale := qb.sum[j0:j0+QNR], qb.scale[j0:j0+QNR]
		if rows == mr && cols == QNR {
			a.v.tile(a.c[r0*a.ldc+j0:(r0+mr-1)*a.ldc+j0+QNR], a.ldc, aa, kp, b, kp, zp, sa, sum, scale)
			continue
		}
		a.v.tile(part[:mr*QNR], QNR, aa, kp, b, kp, zp, sa, sum, scale)
		for r := range rows {
			copy(a.c[(r0+r)*a.ldc+j0:][:cols], part[r*QNR:][:cols])
		}
	}
}

// quantizeRows quantizes the m rows of x (k wide, lda apart) into dst (kp
// bytes a row) with their scales into sa and the zero points their sums
// are corrected by into zp. The padding holds the zero point, which adds
// nothing once corrected. signed stores q-64 (see qVariant). Each row is
// quantized by the active variant's quantizeRow (qrows.go), bitwise the
// same as quantizeRow.
func quantizeRows(dst []byte, sa []float32, zp []int32, x []float32, lda, m, k, kp int, signed bool) {
	var shift int32
	if signed {
		shift = 64
	}
	quantize := qRowOp.active()
	for i := range m {
		quantize(dst[i*kp:(i+1)*kp], &sa[i], &zp[i], x[i*lda:i*lda+k], shift)
	}
}

// roundMagic is 1.5·2²³: for |t| < 2²², (t + roundMagic) - roundMagic in
// float32 is t rounded half to even (the sum's unit in the last place is
// 1), and the low 23 bits of t + roundMagic hold that integer + 2²².
const roundMagic = 12582912

// quantizeRow quantizes one row (see quantizeRows): the reference, the
// scalar decisions of qRowKernels.quantize over the Go passes rowRange and
// rowBytes.
func quantizeRow(out []byte, sa *float32, zp *int32, row []float32, shift int32) {
	qRowReference.quantize(out, sa, zp, row, shift)
}

// qRowReference is quantizeRow's passes.
var qRowReference = qRowKernels{rng: rowRange, bytes: rowBytes}

// rowRange returns min(0, min x) and max(0, max x); a NaN makes one of them
// NaN.
func rowRange(x []float32) (lo, hi float32) {
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// rowBytes stores byte(min(127, max(0, roundEven(x[i]*inv) + z)) - shift)
// into dst[i] for i < len(x).
func rowBytes(dst []byte, x []float32, inv float32, z, shift int32) {
	dst = dst[:len(x)]
	for p, v := range x {
		t := float32(v * inv)
		q := int32(math.Float32bits(t+roundMagic)&(1<<23-1)) - 1<<22 + z
		dst[p] = byte(min(qActMax, max(0, q)) - shift)
	}
}

func fillBytes(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
