//go:build purego || !(amd64 || arm64)

package kernels

func cpuHas(v Variant) bool { return false }

func cpuReason(v Variant) string {
	return "this build has no assembly (purego tag or an architecture without SIMD kernels)"
}

func cpuFeatures() string { return "(not inspected: no assembly in this build)" }
