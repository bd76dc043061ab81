//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

func cpuHas(v Variant) bool {
	return v == NEON && cpu.ARM64.HasASIMD
}

func cpuReason(v Variant) string {
	if v == NEON {
		return "this CPU lacks Advanced SIMD"
	}
	return v.String() + " is an amd64 instruction set and this is arm64"
}

func cpuFeatures() string {
	if cpu.ARM64.HasASIMD {
		return "asimd"
	}
	return ""
}
