// Command amd64 (internal/gen/qgemm/amd64) generates asm/qgemm_amd64.s and its Go stubs
// with avo: the integer tiles of Qgemm (package kernels, qgemm.go), the
// int32 sums of mr rows of 7-bit activations (uint8) by the 16 int8
// channels of one sliver of a QuantizedB.
//
// One generator, parameterised by vector width, rows per tile and product,
// emits every tile, so the AVX-512 tiles run the logic the AVX2 tests
// exercise:
//
//   - QgemmTileAVX2: ymm, 4 rows x 2 vectors of 8 channels;
//   - QgemmTileAVX512BW: zmm, 12 rows x 1 vector of 16 channels;
//   - QgemmTileAVX512VNNI: the same with VPDPBUSD.
//
// A sliver stores k in groups of 4 bytes per channel, so one group of 16
// channels is 64 bytes: two ymm or one zmm, each int32 lane one channel's 4
// bytes. Four activation bytes of a row, broadcast to every lane
// (VPBROADCASTD), meet them in one of two products:
//
//   - VPMADDUBSW (u8 x s8, adjacent pairs summed to int16; a pair is at most
//     2*127*127 = 32258, so it never saturates), VPMADDWD with int16 ones
//     (pairs summed to int32), VPADDD into the accumulator;
//   - VPDPBUSD (the four u8 x s8 products summed into the int32 lane, exact).
//
// Usage (see the go:generate line below; `make generate` runs it):
//
//	go run . -out ../../../../kernels/internal/asm/qgemm_amd64.s -stubs ../../../../kernels/internal/asm/qgemm_amd64.go
package main

//go:generate go run . -out ../../../../kernels/internal/asm/qgemm_amd64.s -stubs ../../../../kernels/internal/asm/qgemm_amd64.go

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/avx"
	"github.com/petl-go/petl/internal/gen/command"
	"github.com/petl-go/petl/internal/gen/contract"
)

// generator is how generated files name their source.
const generator = "internal/gen/qgemm/amd64"

const (
	channels  = 16               // channels of a sliver
	group     = 4                // k bytes per channel stored together
	groupSize = channels * group // bytes of one group of a sliver
)

// tile describes one tile kernel.
type tile struct {
	name   string // Go name in package asm
	how    string // the instructions, for the doc comment
	mr     int    // rows
	width  int    // bytes (= 4 x channels) per vector
	vnni   bool   // VPDPBUSD instead of VPMADDUBSW + VPMADDWD + VPADDD
	unroll int    // groups of 4 bytes per trip of the main loop
}

// nv is the number of vectors per row of the tile.
func (t tile) nv() int { return groupSize / t.width }

var tiles = []tile{
	{name: "QgemmTileAVX2", how: "AVX2 (VPMADDUBSW, VPMADDWD, VPADDD)", mr: 4, width: 32, unroll: 4},
	{name: "QgemmTileAVX512BW", how: "AVX-512BW (VPMADDUBSW, VPMADDWD, VPADDD)", mr: 12, width: 64, unroll: 2},
	{name: "QgemmTileAVX512VNNI", how: "AVX-512VNNI (VPDPBUSD)", mr: 12, width: 64, vnni: true, unroll: 2},
}

// vec returns a new vector register of the tile's width (ymm or zmm).
func (t tile) vec(c *build.Context) reg.VecVirtual {
	if t.width == 64 {
		return c.ZMM()
	}
	return c.YMM()
}

// mov emits a vector move (VMOVDQU, or its EVEX form for zmm).
func (t tile) mov(c *build.Context, src, dst operand.Op) {
	if t.width == 64 {
		c.VMOVDQU32(src, dst)
	} else {
		c.VMOVDQU(src, dst)
	}
}

// xor emits d = a XOR b (VPXOR, or its EVEX form for zmm).
func (t tile) xor(c *build.Context, b, a, d operand.Op) {
	if t.width == 64 {
		c.VPXORD(b, a, d)
	} else {
		c.VPXOR(b, a, d)
	}
}

// epilogue emits, for every row r and vector v of the tile,
// c[r*ldc + channels of v] = float32(acc[r][v] - zp[r]*sum[v]) * (sa[r]*scale[v]).
func (t tile) epilogue(c *build.Context, acc [][]reg.VecVirtual) {
	c.Comment("Arguments of the scaling; ldc in bytes.")
	pc := c.Load(c.Param("c").Base(), c.GP64())
	ldc := c.Load(c.Param("ldc"), c.GP64())
	c.SHLQ(operand.Imm(2), ldc)
	pzp := c.Load(c.Param("zp").Base(), c.GP64())
	psa := c.Load(c.Param("sa").Base(), c.GP64())
	psum := c.Load(c.Param("sum").Base(), c.GP64())
	pscale := c.Load(c.Param("scale").Base(), c.GP64())
	zp, sa, t1, t2 := t.vec(c), t.vec(c), t.vec(c), t.vec(c)
	for r := range acc {
		c.Commentf("row %d: c[%d*ldc:][:16] = float32(acc[%d] - zp[%d]*sum) * (sa[%d]*scale)", r, r, r, r, r)
		c.VPBROADCASTD(operand.Mem{Base: pzp, Disp: 4 * r}, zp)
		c.VBROADCASTSS(operand.Mem{Base: psa, Disp: 4 * r}, sa)
		for v, a := range acc[r] {
			c.VPMULLD(operand.Mem{Base: psum, Disp: v * t.width}, zp, t1)
			c.VPSUBD(t1, a, a)
			c.VCVTDQ2PS(a, a)
			c.VMULPS(operand.Mem{Base: pscale, Disp: v * t.width}, sa, t2)
			c.VMULPS(t2, a, a)
			c.VMOVUPS(a, operand.Mem{Base: pc, Disp: v * t.width})
		}
		if r < len(acc)-1 {
			c.ADDQ(ldc, pc)
		}
	}
}

// op is the tile's contract.
func (t tile) op() contract.Op { return contract.QgemmTile(t.mr, false, t.how) }

// isa is the instruction set of the tile's name, for its contract.
func (t tile) isa() contract.ISA { return contract.ISA{Name: t.name[len("QgemmTile"):]} }

func main() {
	avx.CommandStubs(generator, "!purego", func(c *build.Context) {
		for _, t := range tiles {
			t.generate(c)
		}
	}, stubFile)
}

// stubFile returns the Go declarations of the tiles with their row counts,
// for package pkg.
func stubFile(generator, pkg string) ([]byte, error) {
	s := command.NewStubs(generator, "!purego", pkg)
	for _, t := range tiles {
		fmt.Fprint(s, contract.QgemmTileMR(t.name, t.mr))
		s.Kernel(t.op(), t.isa())
	}
	return s.Source()
}

// generate emits the tile's TEXT block.
func (t tile) generate(c *build.Context) {
	avx.Function(c, t.op(), t.isa())
	nv := t.nv()

	c.Comment("Arguments: n counts the groups of 4 bytes of k.")
	pa := c.Load(c.Param("a").Base(), c.GP64())
	lda := c.Load(c.Param("lda"), c.GP64())
	pb := c.Load(c.Param("b").Base(), c.GP64())
	n := c.Load(c.Param("kp"), c.GP64())
	c.SHRQ(operand.Imm(2), n)

	c.Commentf("Row r of a at base[r/3] + (r%%3)*lda, base[g] = a + 3*g*lda.")
	rows := avx.NewRows(c, pa, lda, t.mr)

	var ones reg.VecVirtual
	if !t.vnni {
		c.Comment("ones = 1 in every int16 lane")
		ones = t.vec(c)
		one := c.GP32()
		c.MOVL(operand.U32(0x00010001), one)
		avx.BroadcastD(c, one, ones)
	}

	c.Commentf("acc[r][v] holds the sums of row r, channels %d*v..%d*v+%d: all zero.", t.width/4, t.width/4, t.width/4-1)
	acc := make([][]reg.VecVirtual, t.mr)
	for r := range acc {
		acc[r] = make([]reg.VecVirtual, nv)
		for v := range acc[r] {
			acc[r][v] = t.vec(c)
			t.xor(c, acc[r][v], acc[r][v], acc[r][v])
		}
	}
	w := make([]reg.VecVirtual, nv)
	for v := range w {
		w[v] = t.vec(c)
	}
	av, prod := t.vec(c), t.vec(c)

	// step emits group u (bytes 4u..4u+3 of k) from pa, pb.
	step := func(u int) {
		c.Commentf("group +%d: w[v] = b[(g+%d)*64 + v*%d:][:%d]; for r: x = a[r*lda+4*(g+%d):][:4] in every lane; acc[r][v] += x·w[v]",
			u, u, t.width, t.width, u)
		for v := range w {
			t.mov(c, operand.Mem{Base: pb, Disp: u*groupSize + v*t.width}, w[v])
		}
		for r := 0; r < t.mr; r++ {
			c.VPBROADCASTD(rows.At(r, u*group), av)
			for v := range w {
				if t.vnni {
					c.VPDPBUSD(w[v], av, acc[r][v])
					continue
				}
				c.VPMADDUBSW(w[v], av, prod)
				c.VPMADDWD(ones, prod, prod)
				c.VPADDD(prod, acc[r][v], acc[r][v])
			}
		}
	}
	next := func(groups int) {
		rows.Advance(c, groups*group)
		c.ADDQ(operand.U32(groups*groupSize), pb)
	}

	c.Commentf("for ; n >= %d; n -= %d: %d groups, then a and b on by %d groups", t.unroll, t.unroll, t.unroll, t.unroll)
	c.Label(t.name + "_loop")
	c.CMPQ(n, operand.Imm(uint64(t.unroll)))
	c.JL(operand.LabelRef(t.name + "_tail"))
	for u := 0; u < t.unroll; u++ {
		step(u)
	}
	next(t.unroll)
	c.SUBQ(operand.Imm(uint64(t.unroll)), n)
	c.JMP(operand.LabelRef(t.name + "_loop"))

	c.Comment("for ; n > 0; n--: one group, then a and b on by one group")
	c.Label(t.name + "_tail")
	c.TESTQ(n, n)
	c.JZ(operand.LabelRef(t.name + "_store"))
	step(0)
	next(1)
	c.DECQ(n)
	c.JMP(operand.LabelRef(t.name + "_tail"))

	c.Label(t.name + "_store")
	t.epilogue(c, acc)
	c.VZEROUPPER()
	c.RET()
}
