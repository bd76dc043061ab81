package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/command"
)

// pack describes one transposing pack routine: it copies rows rows of a
// row-major matrix into the interleaved layout the micro-kernels read, eight
// columns at a time through an in-register transpose.
type pack struct {
	name string // Go name of the function in package asm
	rows int    // 8 or 6
}

var packs = []pack{
	{name: "PackRows8AVX2", rows: 8},
	{name: "PackRows6AVX2", rows: 6},
}

// prefetchRows is how far ahead, in rows of a, the 8-row routine prefetches
// the columns it is reading: the transposed operand is mostly a weight
// matrix [out x in] read once per forward pass from memory, in 16-row
// slivers of kc floats per row (1 KiB at kc = 256), too short for the
// hardware prefetchers to follow. Touching the same columns 16 rows further
// on (the next sliver) packed 768x768 matrices from memory about 10% faster
// than no prefetch (BenchmarkPackBTransposed; 8, 24 and 32 rows did about
// as well) and made BERT-base inference at batch 1 about 7% faster. It
// costs when a is in cache (the 16-row pack from L2 in BenchmarkPackRows
// takes about 1.5 times as long), which did not show in BERT-tiny inference.
const prefetchRows = 16

// packSignature is every pack routine's Go signature.
const packSignature = "func(d *float32, stride int, a *float32, ld int, kc int)"

// doc is the routine's definition, as a Go loop, for the stub's doc comment.
func (k pack) doc() []string {
	lines := []string{
		fmt.Sprintf("%s transposes %d rows of kc floats into kc columns of %d values,", k.name, k.rows, k.rows),
		fmt.Sprintf("stride apart, for the AVX2 variant (it needs AVX only; stride >= %d, ld >= 0):", k.rows),
		"",
		fmt.Sprintf("\tfor i := 0; i < %d; i++ {", k.rows),
		"\t\tfor p := 0; p < kc; p++ {",
		"\t\t\td[p*stride+i] = a[i*ld+p]",
		"\t\t}",
		"\t}",
		"",
		fmt.Sprintf("a points at %d rows of kc floats, ld apart, and d at (kc-1)*stride+%d", k.rows, k.rows),
		"floats; nothing else in d is written. Eight columns of p at a time go",
		fmt.Sprintf("through a %dx8 transpose in registers, the last kc%%8 one by one.", k.rows),
	}
	if k.rows == 8 {
		lines = append(lines, fmt.Sprintf("It prefetches the same columns %d rows further on (for the next", prefetchRows),
			"sliver; a prefetch is a hint, which cannot fault).")
	}
	return lines
}

// stub writes the routine's Go declaration.
func (k pack) stub(s *command.Stubs) { decl(s, k.doc(), k.name, packSignature) }

// generate emits the routine's TEXT block: blocks of eight columns through
// a transpose in registers, then the last kc%8 columns one by one.
func (k pack) generate(c *build.Context) {
	textBlock(c, k.name, packSignature)
	r := k.loadArgs(c)
	k.blocks(c, r)
	k.columns(c, r)
	c.Label(k.name + "_done")
	c.VZEROUPPER()
	c.RET()
}

// packRegs are a pack routine's registers. Row i of a is at ra+i*ld (i < 4)
// or ra4+(i-4)*ld, column p+c of d at rd+c*stride (c < 4) or
// rd4+(c-4)*stride, so that every row and column is one addressing mode off
// a base: index ld (or stride) scaled by 1 or 2, or three times it.
type packRegs struct {
	rd, stride, ra, ld, kc reg.GPVirtual // the arguments; ld and stride in bytes
	ld3, ra4, stride3, rd4 reg.GPVirtual
	pf, pf4                reg.GPVirtual // the row prefetchRows ahead of ra, ra4 (8 rows only)
	step                   reg.GPVirtual // 8*stride: d's advance per block of 8 columns
}

// loadArgs loads the arguments and sets up the bases of rows and columns.
func (k pack) loadArgs(c *build.Context) *packRegs {
	c.Comment("Arguments; ld and stride in bytes.")
	r := &packRegs{rd: arg(c, "d"), stride: arg(c, "stride"), ra: arg(c, "a"), ld: arg(c, "ld"), kc: arg(c, "kc")}
	c.SHLQ(operand.Imm(2), r.stride)
	c.SHLQ(operand.Imm(2), r.ld)

	c.Comment("ld3 = 3*ld, ra4 = a + 4*ld (row 4); stride3 = 3*stride, rd4 = d + 4*stride (column 4)")
	r.ld3 = c.GP64()
	c.LEAQ(operand.Mem{Base: r.ld, Index: r.ld, Scale: 2}, r.ld3)
	r.ra4 = c.GP64()
	c.LEAQ(operand.Mem{Base: r.ra, Index: r.ld, Scale: 4}, r.ra4)
	r.stride3 = c.GP64()
	c.LEAQ(operand.Mem{Base: r.stride, Index: r.stride, Scale: 2}, r.stride3)
	r.rd4 = c.GP64()
	c.LEAQ(operand.Mem{Base: r.rd, Index: r.stride, Scale: 4}, r.rd4)
	if k.rows == 8 {
		c.Commentf("pf = a + %d*ld, pf4 = pf + 4*ld: rows to prefetch", prefetchRows)
		r.pf, r.pf4 = c.GP64(), c.GP64()
		c.IMUL3Q(operand.Imm(prefetchRows), r.ld, r.pf4)
		c.LEAQ(operand.Mem{Base: r.ra, Index: r.pf4, Scale: 1}, r.pf)
		c.ADDQ(r.ra4, r.pf4)
	}
	r.step = c.GP64()
	c.MOVQ(r.stride, r.step)
	c.SHLQ(operand.Imm(3), r.step)
	return r
}

// at addresses element i (i < 8) of a run of rows or columns idx bytes
// apart, the first four from lo and the rest from lo4 (idx3 = 3*idx), plus
// disp bytes.
func at(i int, lo, lo4, idx, idx3 reg.Register, disp int) operand.Mem {
	if i >= 4 {
		return scaledAt(i-4, lo4, idx, idx3, disp)
	}
	return scaledAt(i, lo, idx, idx3, disp)
}

// scaledAt addresses element i (i < 4) of a run idx bytes apart from base,
// in one addressing mode: base, base + idx, base + 2*idx or base + idx3
// (idx3 = 3*idx), plus disp bytes.
func scaledAt(i int, base, idx, idx3 reg.Register, disp int) operand.Mem {
	switch i {
	case 0:
		return operand.Mem{Base: base, Disp: disp}
	case 1:
		return operand.Mem{Base: base, Index: idx, Scale: 1, Disp: disp}
	case 2:
		return operand.Mem{Base: base, Index: idx, Scale: 2, Disp: disp}
	}
	return operand.Mem{Base: base, Index: idx3, Scale: 1, Disp: disp}
}

// row addresses a[i*ld + disp/4].
func (r *packRegs) row(i, disp int) operand.Mem { return at(i, r.ra, r.ra4, r.ld, r.ld3, disp) }

// col addresses d[j*stride + disp/4].
func (r *packRegs) col(j, disp int) operand.Mem {
	return at(j, r.rd, r.rd4, r.stride, r.stride3, disp)
}

// blocks emits the loop over blocks of eight columns.
func (k pack) blocks(c *build.Context, r *packRegs) {
	n := c.GP64()
	c.MOVQ(r.kc, n)
	c.SHRQ(operand.Imm(3), n)
	loop, tail := k.name+"_block", k.name+"_tail"
	c.Commentf("for ; kc >= 8; kc -= 8: transpose a[0:%d][p:p+8] into d[p*stride:][:8*stride]", k.rows)
	c.Label(loop)
	c.TESTQ(n, n)
	c.JZ(operand.LabelRef(tail))
	if k.rows == 8 {
		c.Commentf("prefetch a[%d+i][p:p+8], i < 8", prefetchRows)
		for i := 0; i < 8; i++ {
			c.PREFETCHT0(at(i, r.pf, r.pf4, r.ld, r.ld3, 0))
		}
		k.block8(c, r.row, r.col)
	} else {
		k.block6(c, r.row, r.col)
	}
	c.ADDQ(operand.U32(8*f32), r.ra)
	c.ADDQ(operand.U32(8*f32), r.ra4)
	if k.rows == 8 {
		c.ADDQ(operand.U32(8*f32), r.pf)
		c.ADDQ(operand.U32(8*f32), r.pf4)
	}
	c.ADDQ(r.step, r.rd)
	c.ADDQ(r.step, r.rd4)
	c.DECQ(n)
	c.JMP(operand.LabelRef(loop))
}

// columns emits, from label name_tail, the copy of the last kc%8 columns
// one at a time.
func (k pack) columns(c *build.Context, r *packRegs) {
	c.Commentf("for ; kc > 0; kc--: for i := range %d { d[i] = a[i*ld] }; a++; d += stride", k.rows)
	c.Label(k.name + "_tail")
	c.ANDQ(operand.Imm(7), r.kc)
	c.JZ(operand.LabelRef(k.name + "_done"))
	x := c.XMM()
	c.Label(k.name + "_column")
	for i := 0; i < k.rows; i++ {
		c.VMOVSS(r.row(i, 0), x)
		c.VMOVSS(x, operand.Mem{Base: r.rd, Disp: i * f32})
	}
	c.ADDQ(operand.U32(f32), r.ra)
	c.ADDQ(operand.U32(f32), r.ra4)
	c.ADDQ(r.stride, r.rd)
	c.DECQ(r.kc)
	c.JNZ(operand.LabelRef(k.name + "_column"))
}

// block8 transposes one 8x8 block, four columns at a time: for the
// columns h*4..h*4+3 (h = 0, 1), register r[i] holds a[i][h*4:h*4+4] in its
// low half and a[i+4][h*4:h*4+4] in its high half, so that two rounds of
// in-lane shuffles leave column c of rows 0-3 and of rows 4-7 side by side.
func (k pack) block8(c *build.Context, row, col func(int, int) operand.Mem) {
	r := [4]reg.VecVirtual{c.YMM(), c.YMM(), c.YMM(), c.YMM()}
	t := [4]reg.VecVirtual{c.YMM(), c.YMM(), c.YMM(), c.YMM()}
	for h := 0; h < 2; h++ {
		c.Commentf("r[i] = a[i][%d:%d] | a[i+4][%d:%d], i < 4", 4*h, 4*h+4, 4*h, 4*h+4)
		for i := range r {
			c.VMOVUPS(row(i, 16*h), r[i].AsX())
			c.VINSERTF128(operand.Imm(1), row(i+4, 16*h), r[i], r[i])
		}
		c.Comment("t[0], t[1] = rows 0,1 interleaved (low, high pairs); t[2], t[3] = rows 2,3")
		c.VUNPCKLPS(r[1], r[0], t[0])
		c.VUNPCKHPS(r[1], r[0], t[1])
		c.VUNPCKLPS(r[3], r[2], t[2])
		c.VUNPCKHPS(r[3], r[2], t[3])
		c.Commentf("d[(p+%d+c)*stride:][:8] = column c of rows 0-3 | rows 4-7, c < 4", 4*h)
		c.VSHUFPS(operand.Imm(0x44), t[2], t[0], r[0])
		c.VSHUFPS(operand.Imm(0xEE), t[2], t[0], r[1])
		c.VSHUFPS(operand.Imm(0x44), t[3], t[1], r[2])
		c.VSHUFPS(operand.Imm(0xEE), t[3], t[1], r[3])
		for j := range r {
			c.VMOVUPS(r[j], col(4*h+j, 0))
		}
	}
}

// block6 transposes one 6x8 block: rows 0-3 as a 4x8 transpose (column c
// in the low half of a register, column c+4 in its high half), stored as 4
// floats per column; rows 4 and 5 interleaved into pairs, stored as 2
// floats per column after them. Nothing past the 6 values of a column is
// written.
func (k pack) block6(c *build.Context, row, col func(int, int) operand.Mem) {
	r := [4]reg.VecVirtual{c.YMM(), c.YMM(), c.YMM(), c.YMM()}
	t := [4]reg.VecVirtual{c.YMM(), c.YMM(), c.YMM(), c.YMM()}
	c.Comment("r[i] = a[i][0:8], i < 4; t = their pairs interleaved")
	for i := range r {
		c.VMOVUPS(row(i, 0), r[i])
	}
	c.VUNPCKLPS(r[1], r[0], t[0])
	c.VUNPCKHPS(r[1], r[0], t[1])
	c.VUNPCKLPS(r[3], r[2], t[2])
	c.VUNPCKHPS(r[3], r[2], t[3])
	c.Comment("r[c] = column c | column c+4 of rows 0-3; d[(p+c)*stride:][:4] = its halves")
	c.VSHUFPS(operand.Imm(0x44), t[2], t[0], r[0])
	c.VSHUFPS(operand.Imm(0xEE), t[2], t[0], r[1])
	c.VSHUFPS(operand.Imm(0x44), t[3], t[1], r[2])
	c.VSHUFPS(operand.Imm(0xEE), t[3], t[1], r[3])
	for j := range r {
		c.VMOVUPS(r[j].AsX(), col(j, 0))
		c.VEXTRACTF128(operand.Imm(1), r[j], col(j+4, 0))
	}
	c.Comment("t[0], t[1] = rows 4,5 interleaved: pairs of columns 0,1 | 4,5 and 2,3 | 6,7")
	c.VMOVUPS(row(4, 0), r[0])
	c.VMOVUPS(row(5, 0), r[1])
	c.VUNPCKLPS(r[1], r[0], t[0])
	c.VUNPCKHPS(r[1], r[0], t[1])
	c.Comment("d[(p+c)*stride+4:][:2] = pair c")
	c.VEXTRACTF128(operand.Imm(1), t[0], t[2].AsX())
	c.VEXTRACTF128(operand.Imm(1), t[1], t[3].AsX())
	for q, x := range []reg.VecVirtual{t[0], t[1], t[2], t[3]} {
		// q = 0: columns 0,1; 1: 2,3; 2: 4,5; 3: 6,7.
		c.VMOVLPS(x.AsX(), col(2*q, 16))
		c.VMOVHPS(x.AsX(), col(2*q+1, 16))
	}
}
