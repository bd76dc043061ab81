//go:build unix

package benchmarks

import "syscall"

// tokCPUSeconds returns the CPU time (user + system) the process has used, or
// 0 where it cannot be read.
func tokCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
