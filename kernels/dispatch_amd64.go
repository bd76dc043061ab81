//go:build !purego

package kernels

import (
	"strings"

	"golang.org/x/sys/cpu"
)

func cpuHas(v Variant) bool {
	switch v {
	case AVX2:
		return cpu.X86.HasAVX2 && cpu.X86.HasFMA
	case AVX512:
		// The AVX-512 kernels also use VEX-encoded AVX2/FMA instructions in
		// their tails, so require those too (every AVX-512 CPU has them).
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL &&
			cpu.X86.HasAVX2 && cpu.X86.HasFMA
	}
	return false
}

func cpuReason(v Variant) string {
	switch v {
	case AVX2:
		return "this CPU lacks AVX2 or FMA"
	case AVX512:
		return "this CPU lacks one of AVX-512 F, BW, DQ, VL (or AVX2/FMA)"
	case NEON:
		return "NEON is an arm64 instruction set and this is amd64"
	}
	return "unknown variant"
}

func cpuFeatures() string {
	var f []string
	for _, x := range []struct {
		name string
		has  bool
	}{
		{"avx", cpu.X86.HasAVX}, {"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA},
		{"avx512f", cpu.X86.HasAVX512F}, {"avx512bw", cpu.X86.HasAVX512BW},
		{"avx512dq", cpu.X86.HasAVX512DQ}, {"avx512vl", cpu.X86.HasAVX512VL},
		{"avx512vnni", cpu.X86.HasAVX512VNNI},
	} {
		if x.has {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, " ")
}
