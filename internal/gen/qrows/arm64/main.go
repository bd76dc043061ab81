// Command arm64 (internal/gen/qrows/arm64) generates asm/qrows_arm64.s and its Go stubs: the
// NEON passes over a row of Qgemm's activation quantization (package
// kernels, qrows.go), the counterparts of internal/gen/qrows/amd64's.
//
//   - QRowRangeNEON: lo = min(0, min x), hi = max(0, max x) in four vector
//     accumulators each (FMIN, FMAX, which propagate NaN), folded
//     (FMINV, FMAXV), then the scalar tail (FMINS, FMAXS).
//   - QRowBytesNEON: roundEven(x*inv) + z (FMUL, FCVTNS, ADD), to bytes
//     with saturation (SQXTN to int16, SQXTUN to 0..255), then min 127
//     (UMIN) and - shift (SUB).
//
// Each loop has three stages: blocks of 4 vectors (16 floats, one VLD1 of
// four registers), single vectors, then single floats, which run through
// the vector code in lane 0 (FMOVS zeroes the other lanes).
//
// Registers: V0-V7 data, V16-V23 accumulators, V24-V27 values broadcast to
// every lane; R0-R6.
package main

//go:generate go run . -out ../../../../kernels/internal/asm/qrows_arm64.s -stubs ../../../../kernels/internal/asm/qrows_arm64.go

import (
	"github.com/petl-go/petl/internal/gen/contract"
	"github.com/petl-go/petl/internal/gen/neon"
)

func main() {
	neon.Command("internal/gen/qrows/arm64", "!purego", func(b *neon.Builder, s *neon.Stubs) {
		b.OpWidth, b.SpaceLabels = 8, true
		emitRange(b, s)
		emitBytes(b, s)
	})
}

// fn starts the kernel of contract op with args bytes of arguments and
// results (laid out as in the comments of the kernels: each argument
// aligned to its size, slices 24 bytes).
func fn(b *neon.Builder, s *neon.Stubs, op contract.Op, args int) {
	s.Kernel(op, contract.NEON)
	b.Func(op.Full(contract.NEON), op.Sig[len("func"):], 0, args)
}

// The accumulators and broadcast registers.
const (
	lo    neon.V = 16 // V16-V19
	hi    neon.V = 20 // V20-V23
	inv   neon.V = 24
	zv    neon.V = 25
	top   neon.V = 26
	shift neon.V = 27
)

// emitRange emits QRowRangeNEON: x at 0(FP) (base, len, cap), lo at 24, hi
// at 28.
func emitRange(b *neon.Builder, s *neon.Stubs) {
	fn(b, s, contract.QRowRange, 32)
	b.Op("MOVD", "x_base+0(FP)", "R0")
	b.Op("MOVD", "x_len+8(FP)", "R1")
	b.Comment("lo[0..3], hi[0..3] = 0")
	for a := range 4 {
		for _, r := range []neon.V{lo + neon.V(a), hi + neon.V(a)} {
			b.Op("VEOR", r.B16(), r.B16(), r.B16())
		}
	}

	b.Loop("R1", []neon.Stage{
		{Label: "blocks", Step: 16, Head: func() {
			b.Note("for ; n >= 16; n -= 16: lo[a] = min(lo[a], x[a]); hi[a] = max(hi[a], x[a]) for 4 vectors")
		}, Body: func() {
			b.Op("VLD1.P", "64(R0)", neon.List(0, 4))
			for a := range neon.V(4) {
				b.FMIN(lo+a, lo+a, a)
				b.FMAX(hi+a, hi+a, a)
			}
		}},
		{Label: "fold", Head: func() { b.Note("lo[0] = min(lo[0..3]), hi[0] = max(hi[0..3])") }, Body: func() {
			b.FMIN(lo, lo, lo+1)
			b.FMIN(lo+2, lo+2, lo+3)
			b.FMIN(lo, lo, lo+2)
			b.FMAX(hi, hi, hi+1)
			b.FMAX(hi+2, hi+2, hi+3)
			b.FMAX(hi, hi, hi+2)
		}},
		{Label: "vectors", Step: 4, Head: func() { b.Note("for ; n >= 4; n -= 4: one vector") }, Body: func() {
			b.Op("VLD1.P", "16(R0)", neon.List(0, 1))
			b.FMIN(lo, lo, 0)
			b.FMAX(hi, hi, 0)
		}},
		{Label: "lanes", Head: func() { b.Note("lo, hi = min, max over the lanes of lo[0], hi[0]") }, Body: func() {
			b.FMINV(lo, lo)
			b.FMAXV(hi, hi)
		}},
		{Label: "scalars", Step: 1, Head: func() { b.Note("for ; n > 0; n--: one float") }, Body: func() {
			b.Op("FMOVS.P", "4(R0)", "F0")
			b.Op("FMINS", "F0", lo.F(), lo.F())
			b.Op("FMAXS", "F0", hi.F(), hi.F())
		}},
	}, "done")
	b.Op("FMOVS", lo.F(), "lo+24(FP)")
	b.Op("FMOVS", hi.F(), "hi+28(FP)")
	b.Op("RET")
}

// emitBytes emits QRowBytesNEON: dst at 0(FP), x at 24 (base, len, cap),
// inv at 48, z at 52, shift at 56.
func emitBytes(b *neon.Builder, s *neon.Stubs) {
	fn(b, s, contract.QRowBytes, 60)
	b.Op("MOVD", "dst_base+0(FP)", "R0")
	b.Op("MOVD", "x_base+24(FP)", "R1")
	b.Op("MOVD", "x_len+32(FP)", "R2")
	b.Comment("inv, z in every int32 lane, 127 and shift in every byte")
	b.Op("FMOVS", "inv+48(FP)", inv.F())
	b.Dup(inv, inv, 0)
	b.Op("MOVW", "z+52(FP)", "R3")
	b.Op("VDUP", "R3", zv.S4())
	b.Op("MOVW", "$127", "R4")
	b.Op("VDUP", "R4", top.B16())
	b.Op("MOVW", "shift+56(FP)", "R5")
	b.Op("VDUP", "R5", shift.B16())

	// ints emits v = roundEven(v*inv) + z for the registers v.
	ints := func(vs ...neon.V) {
		for _, v := range vs {
			b.FMUL(v, v, inv)
		}
		for _, v := range vs {
			b.FCVTNS(v, v)
		}
		for _, v := range vs {
			b.Op("VADD", zv.S4(), v.S4(), v.S4())
		}
	}
	// finish emits d = min(127, d) - shift over the bytes of d.
	finish := func(d neon.V) {
		b.Op("VUMIN", top.B16(), d.B16(), d.B16())
		b.Op("VSUB", shift.B16(), d.B16(), d.B16())
	}

	// small emits the bytes of V0 (dwords) into the low 4 bytes of V6.
	small := func() {
		ints(0)
		b.SQXTN(4, 0)
		b.SQXTUN(6, 4)
		finish(6)
	}
	b.Loop("R2", []neon.Stage{
		{Label: "blocks", Step: 16, Head: func() { b.Note("for ; n >= 16; n -= 16: 4 vectors to 16 bytes") }, Body: func() {
			b.Op("VLD1.P", "64(R1)", neon.List(0, 4))
			ints(0, 1, 2, 3)
			b.SQXTN(4, 0)
			b.SQXTN2(4, 1)
			b.SQXTN(5, 2)
			b.SQXTN2(5, 3)
			b.SQXTUN(6, 4)
			b.SQXTUN2(6, 5)
			finish(6)
			b.Op("VST1.P", neon.List(6, 1), "16(R0)")
		}},
		{Label: "vectors", Step: 4, Head: func() { b.Note("for ; n >= 4; n -= 4: one vector to 4 bytes") }, Body: func() {
			b.Op("VLD1.P", "16(R1)", neon.List(0, 1))
			small()
			b.Op("FMOVS.P", neon.V(6).F(), "4(R0)")
		}},
		{Label: "scalars", Step: 1, Head: func() { b.Note("for ; n > 0; n--: one float, in lane 0, to one byte") }, Body: func() {
			b.Op("FMOVS.P", "4(R1)", "F0")
			small()
			b.Op("VMOV", "V6.B[0]", "R6")
			b.Op("MOVB.P", "R6", "1(R0)")
		}},
	}, "done")
	b.Op("RET")
}
