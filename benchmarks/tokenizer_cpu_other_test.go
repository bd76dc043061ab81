//go:build !unix

package benchmarks

// tokCPUSeconds returns 0: process CPU time is only read on Unix systems.
func tokCPUSeconds() float64 { return 0 }
