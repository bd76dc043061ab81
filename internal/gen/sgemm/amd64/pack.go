package main

import (
	"bytes"
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
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
func (k pack) stub(b *bytes.Buffer) {
	for _, line := range k.doc() {
		if line == "" {
			b.WriteString("//\n")
		} else {
			fmt.Fprintf(b, "// %s\n", line)
		}
	}
	fmt.Fprintf(b, "//\n//go:noescape\nfunc %s%s\n\n", k.name, packSignature[len("func"):])
}

// generate emits the routine's TEXT block.
//
// Registers: row i of a is at ra+i*ld (i < 4) or ra4+(i-4)*ld, column
// p+c of d at rd+c*stride (c < 4) or rd4+(c-4)*stride, so that every row
// and column is one addressing mode off a base: index ld (or stride) scaled
// by 1 or 2, or three times it.
func (k pack) generate(c *build.Context) {
	c.Function(k.name)
	c.Attributes(attr.NOSPLIT)
	c.SignatureExpr(packSignature)
	const f32 = 4 // bytes per float32

	c.Comment("Arguments; ld and stride in bytes.")
	rd := c.Load(c.Param("d"), c.GP64())
	stride := c.Load(c.Param("stride"), c.GP64())
	ra := c.Load(c.Param("a"), c.GP64())
	ld := c.Load(c.Param("ld"), c.GP64())
	kc := c.Load(c.Param("kc"), c.GP64())
	c.SHLQ(operand.Imm(2), stride)
	c.SHLQ(operand.Imm(2), ld)

	c.Comment("ld3 = 3*ld, ra4 = a + 4*ld (row 4); stride3 = 3*stride, rd4 = d + 4*stride (column 4)")
	ld3 := c.GP64()
	c.LEAQ(operand.Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	ra4 := c.GP64()
	c.LEAQ(operand.Mem{Base: ra, Index: ld, Scale: 4}, ra4)
	stride3 := c.GP64()
	c.LEAQ(operand.Mem{Base: stride, Index: stride, Scale: 2}, stride3)
	rd4 := c.GP64()
	c.LEAQ(operand.Mem{Base: rd, Index: stride, Scale: 4}, rd4)
	var pf, pf4 reg.GPVirtual // the row prefetchRows ahead of ra, ra4
	if k.rows == 8 {
		c.Commentf("pf = a + %d*ld, pf4 = pf + 4*ld: rows to prefetch", prefetchRows)
		pf, pf4 = c.GP64(), c.GP64()
		c.IMUL3Q(operand.Imm(prefetchRows), ld, pf4)
		c.LEAQ(operand.Mem{Base: ra, Index: pf4, Scale: 1}, pf)
		c.ADDQ(ra4, pf4)
	}
	step := c.GP64() // 8*stride: d's advance per block of 8 columns
	c.MOVQ(stride, step)
	c.SHLQ(operand.Imm(3), step)

	// row(i, disp) addresses a[i*ld + disp/4]; col(c, disp) d[c*stride + disp/4].
	at := func(i int, lo, lo4, idx, idx3 reg.Register, disp int) operand.Mem {
		base := lo
		if i >= 4 {
			base, i = lo4, i-4
		}
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
	row := func(i, disp int) operand.Mem { return at(i, ra, ra4, ld, ld3, disp) }
	col := func(j, disp int) operand.Mem { return at(j, rd, rd4, stride, stride3, disp) }

	n := c.GP64()
	c.MOVQ(kc, n)
	c.SHRQ(operand.Imm(3), n)
	loop, tail, done := k.name+"_block", k.name+"_tail", k.name+"_done"
	c.Commentf("for ; kc >= 8; kc -= 8: transpose a[0:%d][p:p+8] into d[p*stride:][:8*stride]", k.rows)
	c.Label(loop)
	c.TESTQ(n, n)
	c.JZ(operand.LabelRef(tail))
	if k.rows == 8 {
		c.Commentf("prefetch a[%d+i][p:p+8], i < 8", prefetchRows)
		for i := 0; i < 8; i++ {
			c.PREFETCHT0(at(i, pf, pf4, ld, ld3, 0))
		}
		k.block8(c, row, col)
	} else {
		k.block6(c, row, col)
	}
	c.ADDQ(operand.U32(8*f32), ra)
	c.ADDQ(operand.U32(8*f32), ra4)
	if k.rows == 8 {
		c.ADDQ(operand.U32(8*f32), pf)
		c.ADDQ(operand.U32(8*f32), pf4)
	}
	c.ADDQ(step, rd)
	c.ADDQ(step, rd4)
	c.DECQ(n)
	c.JMP(operand.LabelRef(loop))

	c.Commentf("for ; kc > 0; kc--: for i := range %d { d[i] = a[i*ld] }; a++; d += stride", k.rows)
	c.Label(tail)
	c.ANDQ(operand.Imm(7), kc)
	c.JZ(operand.LabelRef(done))
	x := c.XMM()
	c.Label(k.name + "_column")
	for i := 0; i < k.rows; i++ {
		c.VMOVSS(row(i, 0), x)
		c.VMOVSS(x, operand.Mem{Base: rd, Disp: i * f32})
	}
	c.ADDQ(operand.U32(f32), ra)
	c.ADDQ(operand.U32(f32), ra4)
	c.ADDQ(stride, rd)
	c.DECQ(kc)
	c.JNZ(operand.LabelRef(k.name + "_column"))

	c.Label(done)
	c.VZEROUPPER()
	c.RET()
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
