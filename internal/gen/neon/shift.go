package neon

import "fmt"

// Vector shifts the Go arm64 assembler lacks (it has VSHL and VUSHR, not
// the signed right shift).

// SSHR emits SSHR Vd.4S, Vn.4S, #shift: d[l] = n[l] >> shift, arithmetic,
// for shift in 1..32.
//
// Encoding (shift by immediate, Q=1, U=0): 0 1 0 011110 immh:immb 00000 1
// Rn Rd (0x4f000400), with immh:immb = 64 - shift for 32-bit elements
// (immh = 01xx).
func (b *Builder) SSHR(d, n V, shift int) {
	if shift < 1 || shift > 32 {
		panic(fmt.Sprintf("neon: SSHR shift %d out of range 1..32", shift))
	}
	b.Word(0x4f000400|uint32(64-shift)<<16|n.check()<<5|d.check(),
		fmt.Sprintf("SSHR V%d.4S, V%d.4S, #%d", d, n, shift))
}
