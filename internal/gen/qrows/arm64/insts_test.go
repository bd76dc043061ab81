package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/gen/neon"
)

// TestEncodings checks each WORD of insts.go against the encoding given by
// llvm-mc (from the Arm reference), and, where llvm-mc is installed, that
// llvm-mc agrees.
func TestEncodings(t *testing.T) {
	for _, tc := range []struct {
		emit func(b *neon.Builder, d, n neon.V)
		d, n neon.V
		arm  string
		want uint32
	}{
		{fcvtns, 0, 1, "fcvtns v0.4s, v1.4s", 0x4e21a820},
		{sqxtn, 4, 0, "sqxtn v4.4h, v0.4s", 0x0e614804},
		{sqxtn2, 4, 1, "sqxtn2 v4.8h, v1.4s", 0x4e614824},
		{sqxtun, 6, 4, "sqxtun v6.8b, v4.8h", 0x2e212886},
		{sqxtun2, 6, 5, "sqxtun2 v6.16b, v5.8h", 0x6e2128a6},
		{fminv, 16, 16, "fminv s16, v16.4s", 0x6eb0fa10},
	} {
		var b neon.Builder
		tc.emit(&b, tc.d, tc.n)
		got := fmt.Sprintf("$0x%08x", tc.want)
		if !strings.Contains(string(b.Bytes()), got) {
			t.Errorf("%s: emitted %q, want %s", tc.arm, string(b.Bytes()), got)
		}
		if enc, ok := llvmMC(t, tc.arm); ok && enc != tc.want {
			t.Errorf("%s: llvm-mc encodes %#08x, the table says %#08x", tc.arm, enc, tc.want)
		}
	}
}

var encoding = regexp.MustCompile(`encoding: \[0x(..),0x(..),0x(..),0x(..)\]`)

// llvmMC returns llvm-mc's encoding of one instruction, if it is installed.
func llvmMC(t *testing.T, inst string) (uint32, bool) {
	path, err := exec.LookPath("llvm-mc")
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(path, "-triple=aarch64", "-mattr=+neon", "-show-encoding")
	cmd.Stdin = strings.NewReader(inst + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llvm-mc %q: %v", inst, err)
	}
	m := encoding.FindSubmatch(out)
	if m == nil {
		t.Fatalf("llvm-mc %q: no encoding in %q", inst, out)
	}
	var v uint32
	for i := 4; i >= 1; i-- {
		var x uint32
		fmt.Sscanf(string(bytes.TrimSpace(m[i])), "%x", &x)
		v = v<<8 | x
	}
	return v, true
}
