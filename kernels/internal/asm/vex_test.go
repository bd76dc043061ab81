package asm

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAVX2FunctionsUseOnlyVEXRegisters fails if a function of an AVX2
// variant (its name holds "AVX2": micro-kernels, edge and in-place kernels,
// packing, row kernels) in any generated amd64 file uses X16-X31, Y16-Y31,
// a Z register or a mask register: those need EVEX (AVX-512) encodings,
// which run on an AVX-512 machine but fault on a CPU with AVX2 alone. A
// generator's register allocator may pick them under pressure.
func TestAVX2FunctionsUseOnlyVEXRegisters(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated amd64 assembly found (%v)", err)
	}
	high := regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b|\bZ[0-9]+\b|\bK[1-7]\b`)
	checked := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var fn string
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(line, "TEXT ") {
				fn = line
				if strings.Contains(fn, "AVX2") {
					checked++
				}
				continue
			}
			if !strings.Contains(fn, "AVX2") {
				continue
			}
			code, _, _ := strings.Cut(line, "//")
			if m := high.FindString(code); m != "" {
				t.Errorf("%s:%d in %s: %q uses %s, not available with AVX2 alone", file, i+1, fn, strings.TrimSpace(line), m)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("found only %d AVX2 functions in %v", checked, files)
	}
	t.Logf("%d AVX2 functions checked", checked)
}
