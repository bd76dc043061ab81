//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// The paths of NEON: the plain tile always, SDOT where the CPU has it, so
// that a machine (or qemu) with SDOT tests both.
func init() {
	qgemmPaths[NEON] = []qPath{{"plain", qgemmNEON}}
	if cpu.ARM64.HasASIMDDP {
		qgemmPaths[NEON] = append(qgemmPaths[NEON], qPath{"sdot", qgemmNEONDot})
	}
}
