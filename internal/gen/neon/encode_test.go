package neon

import (
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// encodings are instructions with their encodings as the Arm Architecture
// Reference Manual gives them (and llvm-mc -show-encoding prints them).
var encodings = []struct {
	emit    func(b *Builder)
	arm     string // in llvm-mc syntax
	want    uint32
	comment string // the listing's comment, lower-cased, where it is not arm
}{
	{func(b *Builder) { b.FMLAElem(8, 2, 0, 0) }, "fmla v8.4s, v2.4s, v0.s[0]", 0x4f801048, ""},
	{func(b *Builder) { b.FMLAElem(31, 4, 1, 3) }, "fmla v31.4s, v4.4s, v1.s[3]", 0x4fa1189f, ""},
	{func(b *Builder) { b.FMLAElem(20, 17, 30, 2) }, "fmla v20.4s, v17.4s, v30.s[2]", 0x4f9e1a34, ""},
	{func(b *Builder) { b.FMLAElem(0, 31, 16, 1) }, "fmla v0.4s, v31.4s, v16.s[1]", 0x4fb013e0, ""},
	{func(b *Builder) { b.FMULElem(9, 10, 5, 0) }, "fmul v9.4s, v10.4s, v5.s[0]", 0x4f859149, ""},
	{func(b *Builder) { b.FMULElem(31, 31, 31, 3) }, "fmul v31.4s, v31.4s, v31.s[3]", 0x4fbf9bff, ""},
	{func(b *Builder) { b.FMUL(1, 2, 3) }, "fmul v1.4s, v2.4s, v3.4s", 0x6e23dc41, ""},
	{func(b *Builder) { b.FMUL(30, 29, 28) }, "fmul v30.4s, v29.4s, v28.4s", 0x6e3cdfbe, ""},
	{func(b *Builder) { b.FADD(1, 2, 3) }, "fadd v1.4s, v2.4s, v3.4s", 0x4e23d441, ""},
	{func(b *Builder) { b.FSUB(31, 0, 17) }, "fsub v31.4s, v0.4s, v17.4s", 0x4eb1d41f, ""},
	{func(b *Builder) { b.FDIV(4, 5, 6) }, "fdiv v4.4s, v5.4s, v6.4s", 0x6e26fca4, ""},
	{func(b *Builder) { b.FMAX(16, 16, 17) }, "fmax v16.4s, v16.4s, v17.4s", 0x4e31f610, ""},
	{func(b *Builder) { b.FMIN(0, 1, 2) }, "fmin v0.4s, v1.4s, v2.4s", 0x4ea2f420, ""},
	{func(b *Builder) { b.FCMGT(3, 4, 5) }, "fcmgt v3.4s, v4.4s, v5.4s", 0x6ea5e483, ""},
	{func(b *Builder) { b.FSQRT(8, 12) }, "fsqrt v8.4s, v12.4s", 0x6ea1f988, ""},
	{func(b *Builder) { b.FADDP(16, 16, 16) }, "faddp v16.4s, v16.4s, v16.4s", 0x6e30d610, ""},
	{func(b *Builder) { b.FADDPScalar(16, 16) }, "faddp s16, v16.2s", 0x7e30da10, ""},
	{func(b *Builder) { b.FADDPScalar(2, 31) }, "faddp s2, v31.2s", 0x7e30dbe2, ""},
	{func(b *Builder) { b.FMAXV(21, 20) }, "fmaxv s21, v20.4s", 0x6e30fa95, ""},
	{func(b *Builder) { b.SSHR(1, 2, 31) }, "sshr v1.4s, v2.4s, #31", 0x4f210441, ""},
	{func(b *Builder) { b.SSHR(30, 29, 1) }, "sshr v30.4s, v29.4s, #1", 0x4f3f07be, ""},
	{func(b *Builder) { b.SSHR(5, 6, 32) }, "sshr v5.4s, v6.4s, #32", 0x4f2004c5, ""},
	{func(b *Builder) { b.FMINV(16, 16) }, "fminv s16, v16.4s", 0x6eb0fa10, ""},
	{func(b *Builder) { b.FCVTNS(0, 1) }, "fcvtns v0.4s, v1.4s", 0x4e21a820, ""},
	{func(b *Builder) { b.SQXTN(4, 0) }, "sqxtn v4.4h, v0.4s", 0x0e614804, ""},
	{func(b *Builder) { b.SQXTN2(4, 1) }, "sqxtn2 v4.8h, v1.4s", 0x4e614824, ""},
	{func(b *Builder) { b.SQXTUN(6, 4) }, "sqxtun v6.8b, v4.8h", 0x2e212886, ""},
	{func(b *Builder) { b.SQXTUN2(6, 5) }, "sqxtun2 v6.16b, v5.8h", 0x6e2128a6, ""},
	{func(b *Builder) { b.SDOTElem(0, 20, 16, 0) }, "sdot v0.4s, v20.16b, v16.4b[0]", 0x4f90e280, ""},
	{func(b *Builder) { b.SDOTElem(15, 27, 19, 3) }, "sdot v15.4s, v27.16b, v19.4b[3]", 0x4fb3eb6f, ""},
	{func(b *Builder) { b.SDOTElem(31, 1, 30, 2) }, "sdot v31.4s, v1.16b, v30.4b[2]", 0x4f9ee83f, ""},
	{func(b *Builder) { b.SMULL(24, 20, 18) }, "smull v24.8h, v20.8b, v18.8b", 0x0e32c298, ""},
	{func(b *Builder) { b.SMULL2(25, 20, 18) }, "smull2 v25.8h, v20.16b, v18.16b", 0x4e32c299, ""},
	{func(b *Builder) { b.SADALP(0, 24) }, "sadalp v0.4s, v24.8h", 0x4e606b00, ""},
	{func(b *Builder) { b.ADDP(0, 0, 4) }, "addp v0.4s, v0.4s, v4.4s", 0x4ea4bc00, ""},
	{func(b *Builder) { b.MUL(26, 16, 24) }, "mul v26.4s, v16.4s, v24.4s", 0x4eb89e1a, ""},
	{func(b *Builder) { b.MUL(1, 2, 3) }, "mul v1.4s, v2.4s, v3.4s", 0x4ea39c41, ""},
	{func(b *Builder) { b.SCVTF(0, 0) }, "scvtf v0.4s, v0.4s", 0x4e21d800, ""},
	{func(b *Builder) { b.SCVTF(13, 27) }, "scvtf v13.4s, v27.4s", 0x4e21db6d, ""},
	// Vec3 with an encoding of a non-float instruction: the comment keeps
	// the .4S arrangement whatever the instruction.
	{func(b *Builder) { b.Vec3(0x4e601c00, "BIC", 1, 2, 3) }, "bic v1.16b, v2.16b, v3.16b", 0x4e631c41, "bic v1.4s, v2.4s, v3.4s"},
}

var wordRE = regexp.MustCompile(`^\tWORD \$0x([0-9a-f]{8}) // (.*)\n$`)

// emitted returns the single WORD that emit writes, with its comment.
func emitted(t *testing.T, emit func(b *Builder)) (uint32, string) {
	t.Helper()
	b := &Builder{}
	emit(b)
	m := wordRE.FindSubmatch(b.Bytes())
	if m == nil {
		t.Fatalf("not a single WORD: %q", b.Bytes())
	}
	v, err := strconv.ParseUint(string(m[1]), 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v), string(m[2])
}

func TestEncodings(t *testing.T) {
	for _, e := range encodings {
		got, comment := emitted(t, e.emit)
		if got != e.want {
			t.Errorf("%s: emitted %#08x, want %#08x", e.arm, got, e.want)
		}
		want := e.arm
		if e.comment != "" {
			want = e.comment
		}
		if strings.ToLower(comment) != want {
			t.Errorf("%s: commented %q", e.arm, comment)
		}
	}
}

// TestEncodingsLLVM checks the table against llvm-mc, when it is installed.
func TestEncodingsLLVM(t *testing.T) {
	if _, err := exec.LookPath("llvm-mc"); err != nil {
		t.Skip("llvm-mc not installed")
	}
	var src strings.Builder
	for _, e := range encodings {
		src.WriteString(e.arm + "\n")
	}
	cmd := exec.Command("llvm-mc", "-triple=aarch64", "-mattr=+dotprod", "-show-encoding")
	cmd.Stdin = strings.NewReader(src.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, out.String())
	}
	// "fmla v8.4s, v2.4s, v0.s[0]  // encoding: [0x48,0x10,0x80,0x4f]"
	encRE := regexp.MustCompile(`encoding: \[0x(..),0x(..),0x(..),0x(..)\]`)
	var got []uint32
	for _, line := range strings.Split(out.String(), "\n") {
		if m := encRE.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseUint(m[4]+m[3]+m[2]+m[1], 16, 32)
			got = append(got, uint32(v))
		}
	}
	if len(got) != len(encodings) {
		t.Fatalf("llvm-mc printed %d encodings for %d instructions:\n%s", len(got), len(encodings), out.String())
	}
	for i, e := range encodings {
		if got[i] != e.want {
			t.Errorf("%s: llvm-mc says %#08x, table says %#08x", e.arm, got[i], e.want)
		}
	}
}

func TestBuilderText(t *testing.T) {
	b := New("internal/gen/x", "!purego")
	b.Text("Kernel", 0, 48)
	b.Comment("x = %d", 1)
	b.Label("loop")
	b.Note("%d floats", 12)
	b.Inst("VLD1.P 48(R2), %s", List(2, 3))
	b.Op("VDUP", V(1).S(2), V(3).S4())
	b.FMLAElem(8, 2, 0, 1)
	b.Inst("RET")
	b.Func("Other", "(x []float32) float32", 0, 28)
	want := `// Code generated by internal/gen/x. DO NOT EDIT.

//go:build !purego

#include "textflag.h"

TEXT ·Kernel(SB), NOSPLIT, $0-48

	// x = 1
loop:
	// 12 floats
	VLD1.P 48(R2), [V2.S4, V3.S4, V4.S4]
	VDUP V1.S[2], V3.S4
	WORD $0x4fa01048 // FMLA V8.4S, V2.4S, V0.S[1]
	RET

// func Other(x []float32) float32
TEXT ·Other(SB), NOSPLIT, $0-28
`
	if got := string(b.Bytes()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestBadOperandsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"register 32":   func() { (&Builder{}).FMUL(32, 0, 0) },
		"register -1":   func() { (&Builder{}).FMAXV(0, -1) },
		"lane 4":        func() { (&Builder{}).FMLAElem(0, 1, 2, 4) },
		"SDOT lane 4":   func() { (&Builder{}).SDOTElem(0, 1, 2, 4) },
		"lane S(4)":     func() { V(1).S(4) },
		"long list":     func() { List(30, 3) },
		"shift 0":       func() { (&Builder{}).SSHR(0, 1, 0) },
		"shift 33":      func() { (&Builder{}).SSHR(0, 1, 33) },
		"no argument":   func() { NewFrame(Args(Float32s, "x"), false).Base("y") },
		"not a slice":   func() { NewFrame(Args(Int, "n"), false).Base("n") },
		"not a scalar":  func() { NewFrame(Args(Float32s, "x"), false).Arg("x") },
		"twice":         func() { NewFrame(Args(Float32s, "x", "x"), false) },
		"named ret":     func() { NewFrame(Args(Int, "ret"), true) },
		"no result":     func() { NewFrame(nil, false).Ret() },
		"negative step": func() { (&Builder{}).Loop("R0", []Stage{{Label: "l", Step: -1}}, "done") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
