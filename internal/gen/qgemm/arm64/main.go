// Command arm64 (internal/gen/qgemm/arm64) generates asm/qgemm_arm64.s and its Go stubs with
// the emitter of internal/gen/neon: the integer tiles of Qgemm (package
// kernels, qgemm.go), the int32 sums of mr rows of activations stored
// signed (q-64, -64..63) by the 16 int8 channels of one sliver of a
// QuantizedB. Two tiles, one chosen at start-up:
//
//   - QgemmTileNEONDot (the dot-product extension, FEAT_DotProd): SDOT by
//     element, 4 rows x 16 channels in 16 accumulators. A sliver stores k
//     in groups of 4 bytes per channel, so one q register of weights holds
//     4 channels x 4 bytes, and SDOT Vacc.4S, Vw.16B, Va.4B[g] adds to each
//     channel's lane its 4 products with group g of the row's 16 bytes in
//     Va.
//   - QgemmTileNEON (any Advanced SIMD): the row's 4 bytes of a group
//     repeated in every lane (DUP), SMULL and SMULL2 to int16 products
//     (|q-64| <= 64 times |w| <= 127 is at most 8128: no overflow), SADALP
//     adding each int16 pair, widened, into int32 lanes (two lanes per
//     channel), and ADDP folding the pairs at the end; 2 rows x 16
//     channels in 16 accumulators.
//
// Both loop over k 16 bytes (4 groups) at a time, one 16-byte load per
// row, then one group at a time (a 4-byte load per row into lane 0).
//
// Usage (see the go:generate line below; `make generate` runs it):
//
//	go run . -out ../../../../kernels/internal/asm/qgemm_arm64.s -stubs ../../../../kernels/internal/asm/qgemm_arm64.go
package main

//go:generate go run . -out ../../../../kernels/internal/asm/qgemm_arm64.s -stubs ../../../../kernels/internal/asm/qgemm_arm64.go

import (
	"fmt"

	"github.com/petl-go/petl/internal/gen/contract"
	"github.com/petl-go/petl/internal/gen/neon"
)

const generator = "internal/gen/qgemm/arm64"

// tile is one tile kernel.
type tile struct {
	name string
	how  string // the instructions, for the doc comment
	mr   int    // rows
	emit func(b *neon.Builder, t tile)
}

var tiles = []tile{
	{name: "QgemmTileNEONDot", how: "SDOT by element (FEAT_DotProd)", mr: 4, emit: dotTile},
	{name: "QgemmTileNEON", how: "SMULL, SMULL2 and SADALP (Advanced SIMD)", mr: 2, emit: plainTile},
}

func (t tile) op() contract.Op { return contract.QgemmTile(t.mr, true, t.how) }

// isa is the instruction set of the tile's name, for its contract.
func (t tile) isa() contract.ISA { return contract.ISA{Name: t.name[len("QgemmTile"):]} }

// frame lays out the tiles' arguments (a slice of any element type takes
// the place of a []float32).
var frame = neon.NewFrame([]neon.Arg{
	{Name: "c", Type: neon.Float32s}, {Name: "ldc", Type: neon.Int},
	{Name: "a", Type: neon.Float32s}, {Name: "lda", Type: neon.Int},
	{Name: "b", Type: neon.Float32s}, {Name: "kp", Type: neon.Int},
	{Name: "zp", Type: neon.Float32s}, {Name: "sa", Type: neon.Float32s},
	{Name: "sum", Type: neon.Float32s}, {Name: "scale", Type: neon.Float32s},
}, false)

// General registers: R0 c, R1 b, R2 the bytes of k left, R3 lda, R4 and
// up the rows of a; in the epilogue R8 ldc, R9 zp, R10 sa, R11 sum, R12
// scale.
const (
	rC, rB, rN, rLda = "R0", "R1", "R2", "R3"
)

func rowReg(r int) string { return fmt.Sprintf("R%d", 4+r) }

func main() {
	neon.Command(generator, "!purego", func(b *neon.Builder, s *neon.Stubs) {
		b.OpWidth, b.SpaceLabels = 8, true
		for _, t := range tiles {
			fmt.Fprint(s, contract.QgemmTileMR(t.name, t.mr))
			s.Kernel(t.op(), t.isa())
			b.Func(t.name, "", 0, frame.Size)
			prologue(b, t)
			t.emit(b, t)
			b.Op("RET")
		}
	})
}

// prologue loads the arguments and the row pointers.
func prologue(b *neon.Builder, t tile) {
	b.Comment("Arguments; row r of a at R%d+r.", 4)
	frame.Load(b, "c", rC)
	frame.Load(b, "b", rB)
	frame.Load(b, "kp", rN)
	frame.Load(b, "lda", rLda)
	frame.Load(b, "a", rowReg(0))
	for r := 1; r < t.mr; r++ {
		b.Op("ADD", rLda, rowReg(r-1), rowReg(r))
	}
}

// loops emits the two loops over k of tile t, ending at label name_store:
// 16 bytes at a time (the rows' next 16 bytes into registers va, va+1, ...,
// then group(g, g) for g = 0..3), then 4 (into lane 0, then group(0, 0)).
func loops(b *neon.Builder, t tile, va neon.V, group func(g, lane int)) {
	b.Loop(rN, []neon.Stage{
		{Label: t.name + "_blocks", Step: 16, Body: func() {
			loadRows(b, t.mr, va, neon.Vectors(1))
			for g := 0; g < 4; g++ {
				group(g, g)
			}
		}, Head: func() { b.Note("for ; kp >= 16; kp -= 16: 4 groups") }},
		{Label: t.name + "_groups", Step: 4, Body: func() {
			loadRows(b, t.mr, va, neon.Scalar)
			group(0, 0)
		}, Head: func() { b.Note("for ; kp >= 4; kp -= 4: one group") }},
	}, t.name+"_store")
}

// loadRows emits the loads of the next 16 bytes (w one vector) or 4 (w
// scalar, into lane 0) of each row into registers first, first+1, ...
func loadRows(b *neon.Builder, mr int, first neon.V, w neon.Width) {
	for r := 0; r < mr; r++ {
		b.Load(w, rowReg(r), neon.Group(first+neon.V(r)))
	}
}

// Registers of the SDOT tile: acc(r, v) = V(4r+v) holds channels
// 4v..4v+3 of row r; V16+r the row's bytes; two sets of weights, V20-V23
// and V24-V27, alternate between groups.
func dotTile(b *neon.Builder, t tile) {
	const va, vw = neon.V(16), neon.V(20)
	acc := func(r, v int) neon.V { return neon.V(4*r + v) }
	b.Comment("acc[r][v] holds the sums of row r, channels 4v..4v+3: all zero.")
	b.Zero(neon.Vectors(4*t.mr), neon.Group(0))
	group := func(g, lane int) {
		w := vw + neon.V(4*(g%2))
		b.Note("group %d: w = b[:64], b += 64; acc[r][v] += w[v]·a[r][4*%d:][:4]", g, lane)
		b.Op("VLD1.P", "64("+rB+")", neon.List(w, 4))
		for v := 0; v < 4; v++ {
			for r := 0; r < t.mr; r++ {
				b.SDOTElem(acc(r, v), w+neon.V(v), va+neon.V(r), lane)
			}
		}
	}
	loops(b, t, va, group)
	epilogue(b, t, acc, 16)
}

// epilogue emits the scaling of the sums into c: for every row r,
// c[r*ldc:][:16] = float32(res(r, v) - zp[r]*sum) * (sa[r]*scale), res(r,
// 0..3) being consecutive registers, with the registers from free on.
func epilogue(b *neon.Builder, t tile, res func(r, v int) neon.V, free neon.V) {
	vsum, vscale, vzp, vsa, t1, t2 := free, free+4, free+8, free+9, free+10, free+11
	b.Comment("Scaling: sum and scale of the 16 channels; ldc in bytes.")
	frame.Load(b, "ldc", "R8")
	b.Op("LSL", "$2", "R8")
	frame.Load(b, "zp", "R9")
	frame.Load(b, "sa", "R10")
	frame.Load(b, "sum", "R11")
	frame.Load(b, "scale", "R12")
	b.Op("VLD1", "(R11)", neon.List(vsum, 4))
	b.Op("VLD1", "(R12)", neon.List(vscale, 4))
	for r := 0; r < t.mr; r++ {
		b.Note("row %d: c[%d*ldc:][:16] = float32(sums - zp[%d]*sum) * (sa[%d]*scale)", r, r, r, r)
		b.Op("VLD1R.P", "4(R9)", neon.List(vzp, 1))
		b.Op("VLD1R.P", "4(R10)", neon.List(vsa, 1))
		for v := 0; v < 4; v++ {
			d := res(r, v)
			b.MUL(t1, vsum+neon.V(v), vzp)
			b.Op("VSUB", t1.S4(), d.S4(), d.S4())
			b.SCVTF(d, d)
			b.FMUL(t2, vscale+neon.V(v), vsa)
			b.FMUL(d, d, t2)
		}
		b.Op("VST1", neon.List(res(r, 0), 4), "("+rC+")")
		if r < t.mr-1 {
			b.Op("ADD", "R8", rC)
		}
	}
}

// Registers of the plain tile: lo(r, v) = V(8r+v) and hi(r, v) = V(8r+4+v)
// hold channels 4v, 4v+1 and 4v+2, 4v+3 of row r, two int32 lanes each;
// V16+r the row's bytes, V18+r its group in every lane, V20-V23 the
// weights, V24-V27 products.
func plainTile(b *neon.Builder, t tile) {
	const va, vrep, vw, vp = neon.V(16), neon.V(18), neon.V(20), neon.V(24)
	lo := func(r, v int) neon.V { return neon.V(8*r + v) }
	hi := func(r, v int) neon.V { return neon.V(8*r + 4 + v) }
	b.Comment("lo[r][v], hi[r][v] hold the pair sums of row r, channels 4v..4v+3: all zero.")
	b.Zero(neon.Vectors(8*t.mr), neon.Group(0))
	group := func(g, lane int) {
		b.Note("group %d: w = b[:64], b += 64; x[r] = a[r][4*%d:][:4] in every lane;", g, lane)
		b.Note("lo[r][v], hi[r][v] += pairs of int16(w[v]) * int16(x[r]), low and high 8 bytes")
		b.Op("VLD1.P", "64("+rB+")", neon.List(vw, 4))
		for r := 0; r < t.mr; r++ {
			b.Dup(vrep+neon.V(r), va+neon.V(r), lane)
		}
		k := 0
		for v := 0; v < 4; v++ {
			for r := 0; r < t.mr; r++ {
				p := vp + neon.V(2*(k%2))
				k++
				b.SMULL(p, vw+neon.V(v), vrep+neon.V(r))
				b.SMULL2(p+1, vw+neon.V(v), vrep+neon.V(r))
				b.SADALP(lo(r, v), p)
				b.SADALP(hi(r, v), p+1)
			}
		}
	}
	loops(b, t, va, group)
	b.Note("the sums of row r, channels 4v..4v+3: lo[r][v] and hi[r][v] pairs added (ADDP)")
	for r := 0; r < t.mr; r++ {
		for v := 0; v < 4; v++ {
			b.ADDP(lo(r, v), lo(r, v), hi(r, v))
		}
	}
	epilogue(b, t, lo, 16)
}
