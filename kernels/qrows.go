package kernels

import "math"

// Qgemm quantizes each row of its input (quantizeRow in qgemm.go, the
// reference) through qRowOp. A variant's version (qRowKernels.quantize)
// runs two assembly passes over the row, its range and then its bytes,
// with the scalar decisions between them in Go, and gives the same bytes,
// scale and zero point as quantizeRow for every row: a row whose range is
// zero, NaN or infinite, or so small that 127/width overflows, takes
// quantizeRow itself.

// qRowFunc quantizes one row: see quantizeRow.
type qRowFunc func(out []byte, sa *float32, zp *int32, row []float32, shift int32)

var qRowOp = newOpTable[qRowFunc]("quantizeRow", quantizeRow)

// qRowKernels are one variant's passes over a row (see the contracts of
// asm.QRowRangeAVX2 and asm.QRowBytesAVX2).
type qRowKernels struct {
	// rng returns min(0, min x) and max(0, max x), up to the sign of a
	// zero, with hi - lo NaN or infinite exactly when the Go loop's is.
	rng func(x []float32) (lo, hi float32)
	// bytes stores byte(min(127, max(0, roundEven(x[i]*inv) + z)) - shift)
	// into dst[i] for i < len(x), for |x[i]*inv| < 2²² and 0 <= z <= 127.
	bytes func(dst []byte, x []float32, inv float32, z, shift int32)
}

// register installs k as variant v's quantizeRow.
func (k qRowKernels) register(v Variant) { qRowOp.set(v, k.quantize) }

// quantize is quantizeRow on k's passes.
func (k qRowKernels) quantize(out []byte, sa *float32, zp *int32, row []float32, shift int32) {
	lo, hi := k.rng(row)
	width := hi - lo
	inv := float32(qActMax) / width
	if width != width || math.IsInf(float64(width), 0) || width == 0 || math.IsInf(float64(inv), 0) {
		// No bytes to compute (the range is empty, NaN or infinite), or
		// x*inv can be infinite: the reference's own path.
		quantizeRow(out, sa, zp, row, shift)
		return
	}
	// As quantizeRow: |x[i]| <= width, so |x[i]*inv| < 128 and 0 <= z <= 127.
	*sa = width / qActMax
	z := clampRound(-lo*inv, 0, qActMax)
	*zp = z - shift
	k.bytes(out[:len(row)], row, inv, z, shift)
	fillBytes(out[len(row):], byte(z-shift))
}
