// Command arm64 (internal/gen/rows/arm64) generates asm/rows_arm64.s and its Go stubs: the NEON
// row kernels (layer norm forward and backward, bias add and bias gradient,
// add, axpy, scale, dot, sum, max and the AdamW update), with the same
// algorithms and operation order as the amd64 kernels of internal/gen/rows/amd64.
//
// Every loop over a row has three stages: blocks of 4 vectors (16 floats,
// one VLD1 of four registers), single vectors, then single floats (scalar
// FP instructions, which round exactly as the vector ones). Each pointer is
// advanced by its post-indexed loads and stores.
//
// Registers: V0-V15 hold the data of a block (groups of four consecutive
// registers), V16-V23 accumulators, V24-V31 values broadcast to every lane.
// R0-R17 and R19-R25 are free in Go assembly; R18 (platform), R26-R29 and
// R30 (link) are not touched.
package main

//go:generate go run . -out ../../../../kernels/internal/asm/rows_arm64.s -stubs ../../../../kernels/internal/asm/rows_arm64.go

import (
	"github.com/petl-go/petl/internal/gen/contract"
	"github.com/petl-go/petl/internal/gen/neon"
)

// fn emits the kernel of contract op: its stub, with the contract's doc
// comment, and its TEXT block, whose body gets the argument frame.
func fn(f *file, op contract.Op, body func(k neon.Frame)) {
	full := op.Full(contract.NEON)
	k := neon.ParseFrame(op.Sig)
	f.stubs.Func(full, k.Expanded(), op.Doc(contract.NEON))
	f.Func(full, k.Expanded(), 0, k.Size)
	body(k)
	f.Label("ret")
	f.Op("RET")
}

func main() {
	neon.Command("internal/gen/rows/arm64", "!purego", func(b *neon.Builder, s *neon.Stubs) {
		b.OpWidth, b.SpaceLabels = 8, true
		emitAll(&file{Builder: b, stubs: s})
	})
}
