package kernels

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
)

// Variant names one implementation of the kernels: the pure-Go reference or
// an instruction set.
type Variant int

// The variants, from the portable reference to the widest instruction sets.
const (
	Generic Variant = iota // pure Go, always available
	AVX2                   // amd64 AVX2 + FMA
	AVX512                 // amd64 AVX-512 F/BW/DQ/VL
	NEON                   // arm64 Advanced SIMD
)

var variantNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512", NEON: "neon"}

// String returns the name used by PETL_KERNELS.
func (v Variant) String() string {
	if v >= 0 && int(v) < len(variantNames) {
		return variantNames[v]
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// ParseVariant turns a PETL_KERNELS name into a Variant.
func ParseVariant(s string) (Variant, error) {
	for v, name := range variantNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return Variant(v), nil
		}
	}
	return Generic, fmt.Errorf("unknown kernel variant %q (known: %s)", s, strings.Join(variantNames[:], ", "))
}

// Supported lists the variants this CPU and this build can run, the
// reference first and the preferred one last.
func Supported() []Variant {
	out := []Variant{Generic}
	for _, v := range []Variant{AVX2, AVX512, NEON} {
		if cpuHas(v) {
			out = append(out, v)
		}
	}
	return out
}

// IsSupported reports whether v can run on this CPU and build.
func IsSupported(v Variant) bool {
	return v == Generic || cpuHas(v)
}

// best returns the preferred supported variant.
func best() Variant {
	s := Supported()
	return s[len(s)-1]
}

var active atomic.Int32

// Active returns the variant the exported kernels use.
func Active() Variant { return Variant(active.Load()) }

// SetVariant makes every exported kernel use v from now on. It is meant for
// benchmarks, tests and command-line flags; calls already running finish with
// the variant they started with.
func SetVariant(v Variant) error {
	if !IsSupported(v) {
		return fmt.Errorf("kernel variant %s is not supported here: %s (supported: %s)", v, cpuReason(v), variantList(Supported()))
	}
	active.Store(int32(v))
	return nil
}

func variantList(vs []Variant) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.String()
	}
	return strings.Join(names, ", ")
}

// EnvVar is the environment variable that forces a kernel variant.
const EnvVar = "PETL_KERNELS"

// envErr records a bad PETL_KERNELS value; CheckEnv returns it.
var envErr error

func init() { envErr = setVariantFromEnv(os.LookupEnv(EnvVar)) }

// setVariantFromEnv makes the best variant active, then the one that s, the
// value of PETL_KERNELS, names if set is true and s is not empty. A name that
// is unknown or that this CPU or build cannot run leaves the best variant
// active and is returned as an error that names the variable and its value.
func setVariantFromEnv(s string, set bool) error {
	active.Store(int32(best()))
	if !set || s == "" {
		return nil
	}
	v, err := ParseVariant(s)
	if err == nil {
		err = SetVariant(v)
	}
	if err != nil {
		return fmt.Errorf("%s=%s: %w", EnvVar, s, err)
	}
	return nil
}

// CheckEnv returns the error, if any, in PETL_KERNELS, for example
// "PETL_KERNELS=avx512: kernel variant avx512 is not supported here: ...".
// A bad value does not stop the program: the kernels run on the best variant
// this CPU supports, as if PETL_KERNELS were unset. Programs that honour the
// variable should call CheckEnv at start-up and stop with its error, rather
// than run on a variant other than the one asked for.
func CheckEnv() error { return envErr }

var threads atomic.Int32

// Threads returns the number of goroutines kernels split work over.
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// SetThreads sets the number of goroutines kernels split work over; n <= 0
// restores the default, GOMAXPROCS. Results do not depend on it.
func SetThreads(n int) {
	threads.Store(int32(max(n, 0)))
}

// Describe returns a human-readable summary of what was detected and chosen.
func Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arch:      %s\n", runtime.GOARCH)
	fmt.Fprintf(&b, "features:  %s\n", cpuFeatures())
	fmt.Fprintf(&b, "supported: %s\n", variantList(Supported()))
	fmt.Fprintf(&b, "active:    %s", Active())
	if envErr != nil {
		fmt.Fprintf(&b, " (ignoring %v)", envErr)
	} else if s := os.Getenv(EnvVar); s != "" {
		fmt.Fprintf(&b, " (forced by %s=%s)", EnvVar, s)
	}
	fmt.Fprintf(&b, "\nthreads:   %d\n", Threads())
	return b.String()
}
