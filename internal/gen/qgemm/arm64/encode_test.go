package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/gen/neon"
)

// TestEncodings checks the instructions of internal/gen/neon/dot.go
// against the encodings llvm-mc -mattr=+dotprod -show-encoding prints.
func TestEncodings(t *testing.T) {
	for _, e := range []struct {
		emit func(b *neon.Builder)
		arm  string
		want uint32
	}{
		{func(b *neon.Builder) { b.SDOTElem(0, 20, 16, 0) }, "SDOT V0.4S, V20.16B, V16.4B[0]", 0x4f90e280},
		{func(b *neon.Builder) { b.SDOTElem(15, 27, 19, 3) }, "SDOT V15.4S, V27.16B, V19.4B[3]", 0x4fb3eb6f},
		{func(b *neon.Builder) { b.SDOTElem(31, 1, 30, 2) }, "SDOT V31.4S, V1.16B, V30.4B[2]", 0x4f9ee83f},
		{func(b *neon.Builder) { b.SMULL(24, 20, 18) }, "SMULL V24.8H, V20.8B, V18.8B", 0x0e32c298},
		{func(b *neon.Builder) { b.SMULL2(25, 20, 18) }, "SMULL2 V25.8H, V20.16B, V18.16B", 0x4e32c299},
		{func(b *neon.Builder) { b.SADALP(0, 24) }, "SADALP V0.4S, V24.8H", 0x4e606b00},
		{func(b *neon.Builder) { b.ADDP(0, 0, 4) }, "ADDP V0.4S, V0.4S, V4.4S", 0x4ea4bc00},
		{func(b *neon.Builder) { b.MUL(26, 16, 24) }, "MUL V26.4S, V16.4S, V24.4S", 0x4eb89e1a},
		{func(b *neon.Builder) { b.MUL(1, 2, 3) }, "MUL V1.4S, V2.4S, V3.4S", 0x4ea39c41},
		{func(b *neon.Builder) { b.SCVTF(0, 0) }, "SCVTF V0.4S, V0.4S", 0x4e21d800},
		{func(b *neon.Builder) { b.SCVTF(13, 27) }, "SCVTF V13.4S, V27.4S", 0x4e21db6d},
	} {
		var b neon.Builder
		e.emit(&b)
		want := fmt.Sprintf("WORD $0x%08x // %s", e.want, e.arm)
		if got := strings.TrimSpace(string(b.Bytes())); got != want {
			t.Errorf("emitted %q, want %q", got, want)
		}
	}
}
