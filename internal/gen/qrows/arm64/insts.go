package main

import (
	"fmt"

	"github.com/petl-go/petl/internal/gen/neon"
)

// The instructions these kernels need that neither the Go arm64 assembler
// nor package neon has, as WORDs with their Arm syntax as a comment. Each
// encoding is the instruction with its register fields zero (Rn at bit 5,
// Rd at bit 0), checked against llvm-mc in insts_test.go's table.

// twoReg emits the two-register instruction enc | n<<5 | d.
func twoReg(b *neon.Builder, enc uint32, d, n neon.V, arm string) {
	b.Word(enc|uint32(n)<<5|uint32(d), fmt.Sprintf(arm, d, n))
}

// fcvtns emits FCVTNS Vd.4S, Vn.4S: d[l] = n[l] rounded to the nearest
// int32, ties to even (saturating).
func fcvtns(b *neon.Builder, d, n neon.V) {
	twoReg(b, 0x4e21a800, d, n, "FCVTNS V%d.4S, V%d.4S")
}

// sqxtn emits SQXTN Vd.4H, Vn.4S: the low half of d = n narrowed to int16
// with signed saturation, the high half zeroed.
func sqxtn(b *neon.Builder, d, n neon.V) {
	twoReg(b, 0x0e614800, d, n, "SQXTN V%d.4H, V%d.4S")
}

// sqxtn2 emits SQXTN2 Vd.8H, Vn.4S: the high half of d = n narrowed to
// int16 with signed saturation.
func sqxtn2(b *neon.Builder, d, n neon.V) {
	twoReg(b, 0x4e614800, d, n, "SQXTN2 V%d.8H, V%d.4S")
}

// sqxtun emits SQXTUN Vd.8B, Vn.8H: the low half of d = the int16 lanes of
// n narrowed to uint8 with saturation (0..255), the high half zeroed.
func sqxtun(b *neon.Builder, d, n neon.V) {
	twoReg(b, 0x2e212800, d, n, "SQXTUN V%d.8B, V%d.8H")
}

// sqxtun2 emits SQXTUN2 Vd.16B, Vn.8H: the high half of d = the int16
// lanes of n narrowed to uint8 with saturation.
func sqxtun2(b *neon.Builder, d, n neon.V) {
	twoReg(b, 0x6e212800, d, n, "SQXTUN2 V%d.16B, V%d.8H")
}

// fminv emits FMINV Sd, Vn.4S: the scalar Sd = the smallest of the four
// lanes of n (NaN if any is NaN).
func fminv(b *neon.Builder, d, n neon.V) {
	twoReg(b, 0x6eb0f800, d, n, "FMINV S%d, V%d.4S")
}
