package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/command"
)

// edge describes a kernel for the last, partial sliver of A: rows < mr rows
// of C across slivers consecutive slivers of B, so that its accumulators
// (rows x slivers x nv vectors) keep the FMA units as busy as the full
// tile's do, where the full kernel would compute mr rows to keep rows.
type edge struct {
	k       kernel // the full kernel: vector width, mr (A's panel stride), nr
	rows    int
	slivers int
}

// edges are the AVX2 edge kernels, one per partial row count: 1 row over 4
// slivers (8 accumulators), 2 over 3 (12), 3 over 2 (12), 4 and 5 over 1
// (8 and 10).
var edges = []edge{
	{kernels[0], 1, 4},
	{kernels[0], 2, 3},
	{kernels[0], 3, 2},
	{kernels[0], 4, 1},
	{kernels[0], 5, 1},
}

// edgeSignature is every edge kernel's Go signature.
const edgeSignature = "func(k int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32)"

func (e edge) name() string { return fmt.Sprintf("%sEdge%d", e.k.name, e.rows) }

// stub writes the kernel's Go declaration.
func (e edge) stub(s *command.Stubs) {
	nr := e.k.nr()
	lines := []string{
		fmt.Sprintf("%s computes %d row(s) of C over %d sliver(s) of B (%d columns)", e.name(), e.rows, e.slivers, e.slivers*nr),
		fmt.Sprintf("from a packed panel of A with the row stride of %s (mr = %d), k >= 1:", e.k.name, e.k.mr),
		"",
		fmt.Sprintf("\tfor i := 0; i < %d; i++ {", e.rows),
		fmt.Sprintf("\t\tfor s := 0; s < %d; s++ {", e.slivers),
		fmt.Sprintf("\t\t\tfor j := 0; j < %d; j++ {", nr),
		"\t\t\t\tvar t float32",
		"\t\t\t\tfor p := 0; p < k; p++ {",
		fmt.Sprintf("\t\t\t\t\tt += a[p*%d+i] * b[s*bs+p*%d+j]", e.k.mr, nr),
		"\t\t\t\t}",
		fmt.Sprintf("\t\t\t\tx := &c[i*ldc+s*%d+j]", nr),
		"\t\t\t\tif beta == 0 {",
		"\t\t\t\t\t*x = alpha * t // c is not read",
		"\t\t\t\t} else {",
		"\t\t\t\t\t*x = alpha*t + beta**x",
		"\t\t\t\t}",
		"\t\t\t}",
		"\t\t}",
		"\t}",
		"",
		fmt.Sprintf("The sums are those of %s, FMA in order of p, so its rows are bitwise", e.k.name),
		"the full kernel's for the same panels.",
	}
	decl(s, lines, e.name(), edgeSignature)
}

// generate emits the kernel's TEXT block.
func (e edge) generate(c *build.Context) {
	k := e.k
	name := e.name()
	textBlock(c, name, edgeSignature)
	nr := k.nr()

	c.Comment("Arguments; bs and ldc in bytes.")
	kk, pa, pb, bs, pc, ldc := arg(c, "k"), arg(c, "a"), arg(c, "b"), arg(c, "bs"), arg(c, "c"), arg(c, "ldc")
	c.SHLQ(operand.Imm(2), bs)
	c.SHLQ(operand.Imm(2), ldc)
	bAt, pb3 := e.slivers3(c, pb, bs)

	c.Comment("acc[i][s][v]: all zero.")
	acc := make([][][]reg.VecVirtual, e.rows)
	for i := range acc {
		acc[i] = make([][]reg.VecVirtual, e.slivers)
		for s := range acc[i] {
			acc[i][s] = make([]reg.VecVirtual, k.nv)
			for v := range acc[i][s] {
				acc[i][s][v] = k.zeroVec(c)
			}
		}
	}
	bv, av := k.vecs(c, k.nv), k.vec(c)

	step := func(u int) {
		c.Commentf("p+%d", u)
		for s := 0; s < e.slivers; s++ {
			for v := range bv {
				c.VMOVUPS(bAt(s, (u*nr+v*k.width)*f32), bv[v])
			}
			for i := 0; i < e.rows; i++ {
				c.VBROADCASTSS(operand.Mem{Base: pa, Disp: (u*k.mr + i) * f32}, av)
				for v := range bv {
					c.VFMADD231PS(bv[v], av, acc[i][s][v])
				}
			}
		}
	}
	kLoop{
		c: c, name: name, k: kk, unroll: 4,
		trip: step,
		last: func() { step(0) },
		advance: func(n int) {
			c.ADDQ(operand.U32(n*k.mr*f32), pa)
			c.ADDQ(operand.U32(n*nr*f32), pb)
			if pb3 != nil {
				c.ADDQ(operand.U32(n*nr*f32), pb3)
			}
		},
	}.emit()

	rows := make([][]accCol, e.rows)
	for i := range acc {
		for s := range acc[i] {
			for v := range acc[i][s] {
				rows[i] = append(rows[i], accCol{acc[i][s][v], (s*nr + v*k.width) * f32})
			}
		}
	}
	epilogue(c, name, rows, pc, ldc, bv[0], bv[1%k.nv])
}

// slivers3 returns the address of byte disp of sliver s of B, bs bytes
// apart from pb: pb (s = 0), pb + bs (1), pb + 2*bs (2), pb3 + ... (3),
// and pb3, a new register set to pb + 3*bs when there are more than three
// slivers (nil otherwise).
func (e edge) slivers3(c *build.Context, pb, bs reg.Register) (bAt func(s, disp int) operand.Mem, pb3 reg.GPVirtual) {
	if e.slivers > 3 {
		pb3 = c.GP64()
		c.LEAQ(operand.Mem{Base: pb, Index: bs, Scale: 2}, pb3)
		c.ADDQ(bs, pb3)
	}
	bAt = func(s, disp int) operand.Mem {
		if s < 3 {
			return scaledAt(s, pb, bs, nil, disp)
		}
		return operand.Mem{Base: pb3, Disp: disp}
	}
	return bAt, pb3
}
