package kernels

import "math"

// Qgemm quantizes each row of its input through qRowOp. Every variant,
// the reference quantizeRow included, is qRowKernels.quantize over two
// passes, the row's range and then its bytes, with the scalar decisions
// between them in Go: the reference's passes are rowRange and rowBytes, a
// variant's are assembly and give the same results.

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

// quantize quantizes one row (see quantizeRows) with k's passes: the
// range, then, between them in Go, the scale and zero point (a row whose
// range is zero, NaN or infinite has no bytes to compute), then the bytes.
// Where 127/width overflows, x*inv can be infinite, outside the passes'
// contract, so the Go bytes pass runs.
func (k qRowKernels) quantize(out []byte, sa *float32, zp *int32, row []float32, shift int32) {
	lo, hi := k.rng(row)
	width := hi - lo
	if width != width || math.IsInf(float64(width), 0) || width == 0 {
		*sa, *zp = 0, -shift
		if width != 0 {
			*sa = float32(math.NaN())
		}
		fillBytes(out, byte(-shift))
		return
	}
	inv := float32(qActMax) / width
	*sa = width / qActMax
	z := clampRound(-lo*inv, 0, qActMax)
	*zp = z - shift
	bytes := k.bytes
	if math.IsInf(float64(inv), 0) {
		bytes = rowBytes
	}
	bytes(out[:len(row)], row, inv, z, shift)
	fillBytes(out[len(row):], byte(z-shift))
}
