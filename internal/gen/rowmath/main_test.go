package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAVX2UsesOnlyVEXRegisters fails if an AVX2 function in the generated
// file uses X16-X31 or Y16-Y31: those need EVEX (AVX-512) encodings and
// would fault on a CPU with AVX2 only. (The register allocator may pick
// them under pressure.)
func TestAVX2UsesOnlyVEXRegisters(t *testing.T) {
	src, err := os.ReadFile("../../../asm/math_amd64.s")
	if err != nil {
		t.Fatalf("reading the generated assembly: %v", err)
	}
	high := regexp.MustCompile(`\b[XYZK]([1-3][0-9])\b|\bZ[0-9]+\b|\bK[1-7]\b`)
	var fn string
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			fn = line
			continue
		}
		if !strings.Contains(fn, "AVX2(SB)") {
			continue
		}
		code, _, _ := strings.Cut(line, "//")
		for _, m := range high.FindAllStringSubmatch(code, -1) {
			if m[1] != "" && m[1] < "16" && len(m[1]) == 2 {
				continue // X10-X15, Y10-Y15
			}
			t.Errorf("line %d in %s: %q uses %s, not available with AVX2 alone", i+1, fn, strings.TrimSpace(line), m[0])
		}
	}
}
