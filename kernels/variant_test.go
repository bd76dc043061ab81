package kernels

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// expectedVariants returns the variants named in PETL_EXPECT_KERNELS (set by
// `make test` from /proc/cpuinfo, independently of the detection code under
// test), or nil when it is unset.
func expectedVariants(t testing.TB) []Variant {
	s := os.Getenv("PETL_EXPECT_KERNELS")
	if s == "" {
		return nil
	}
	var out []Variant
	for _, name := range strings.Split(s, ",") {
		v, err := ParseVariant(name)
		if err != nil {
			t.Fatalf("PETL_EXPECT_KERNELS: %v", err)
		}
		out = append(out, v)
	}
	return out
}

// TestExpectedVariantsSupported fails when the CPU advertises an instruction
// set (per /proc/cpuinfo) that the dispatcher does not offer.
func TestExpectedVariantsSupported(t *testing.T) {
	want := expectedVariants(t)
	if want == nil {
		t.Skip("PETL_EXPECT_KERNELS not set (make test sets it)")
	}
	for _, v := range want {
		if !IsSupported(v) {
			t.Errorf("variant %s expected on this machine but not supported by the build: %s", v, cpuReason(v))
		}
	}
}

// forEachVariant runs f as a subtest for every variant this machine supports
// that op implements. A variant named in PETL_EXPECT_KERNELS that op lacks, or
// that the machine cannot run, is a failure, not a skip.
func forEachVariant[F any](t *testing.T, op *opTable[F], f func(t *testing.T, v Variant, impl F)) {
	t.Helper()
	for _, v := range expectedVariants(t) {
		if !IsSupported(v) {
			t.Errorf("%s: variant %s expected on this machine but not supported", op.name, v)
		} else if !op.has[v] {
			t.Errorf("%s: variant %s expected on this machine but the operation has no %s implementation", op.name, v, v)
		}
	}
	for _, v := range Supported() {
		if !op.has[v] {
			t.Logf("%s: no %s implementation (generic code runs)", op.name, v)
			continue
		}
		impl := op.impl[v]
		t.Run(v.String(), func(t *testing.T) { f(t, v, impl) })
	}
}

func TestParseVariant(t *testing.T) {
	for _, v := range []Variant{Generic, AVX2, AVX512, NEON} {
		got, err := ParseVariant(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVariant(%q) = %v, %v; want %v", v.String(), got, err, v)
		}
	}
	if _, err := ParseVariant("sse9"); err == nil {
		t.Error("ParseVariant(sse9) succeeded; want an error")
	}
}

func TestSetVariantRejectsUnsupported(t *testing.T) {
	for _, v := range []Variant{AVX2, AVX512, NEON} {
		if IsSupported(v) {
			continue
		}
		if err := SetVariant(v); err == nil {
			t.Errorf("SetVariant(%s) on a machine without it succeeded", v)
		}
	}
}

// TestSetVariantFromEnv checks the PETL_KERNELS contract: a good value is
// made active, and a bad one (unknown, or a variant this CPU or build cannot
// run) is an error naming the variable and the value, with the best
// supported variant active instead.
func TestSetVariantFromEnv(t *testing.T) {
	saved := Active()
	defer active.Store(int32(saved))
	for _, c := range []struct {
		s    string
		set  bool
		want Variant
	}{{"", false, best()}, {"", true, best()}, {"generic", true, Generic}, {"GENERIC", true, Generic}, {best().String(), true, best()}} {
		require.NoError(t, setVariantFromEnv(c.s, c.set), "PETL_KERNELS=%q (set %v)", c.s, c.set)
		require.Equal(t, c.want, Active(), "PETL_KERNELS=%q (set %v)", c.s, c.set)
	}
	bad := []string{"sse9", "avx", "generic,avx2"}
	for _, v := range []Variant{AVX2, AVX512, NEON} {
		if !IsSupported(v) {
			bad = append(bad, v.String())
		}
	}
	for _, s := range bad {
		active.Store(int32(Generic))
		err := setVariantFromEnv(s, true)
		require.Error(t, err, "PETL_KERNELS=%s", s)
		require.Contains(t, err.Error(), EnvVar+"="+s)
		require.Equal(t, best(), Active(), "PETL_KERNELS=%s: active variant", s)
		require.True(t, IsSupported(Active()), "PETL_KERNELS=%s: active variant %s", s, Active())
	}
}

// TestCheckEnv checks that CheckEnv reports what init made of this
// process's PETL_KERNELS, and, in a child process with a bad value, that the
// package loads (it used to end the process with status 2), reports the
// value through CheckEnv and runs on a supported variant.
func TestCheckEnv(t *testing.T) {
	if os.Getenv("PETL_KERNELS_TEST_CHILD") == "1" {
		err := CheckEnv()
		require.Error(t, err)
		require.Contains(t, err.Error(), EnvVar+"="+os.Getenv(EnvVar))
		require.Equal(t, best(), Active())
		require.Contains(t, Describe(), "ignoring "+EnvVar+"=")
		return
	}
	saved := Active()
	want := setVariantFromEnv(os.LookupEnv(EnvVar))
	active.Store(int32(saved))
	if want == nil {
		require.NoError(t, CheckEnv())
	} else {
		require.EqualError(t, CheckEnv(), want.Error())
	}

	for _, s := range []string{"sse9", "neon", "avx512"} {
		if v, _ := ParseVariant(s); IsSupported(v) {
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCheckEnv$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), EnvVar+"="+s, "PETL_KERNELS_TEST_CHILD=1")
		out, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ENOEXEC) {
			t.Skipf("cannot run the test binary again here (emulated?): %v", err)
		}
		require.NoError(t, err, "%s=%s: child test failed:\n%s", EnvVar, s, out)
		require.Contains(t, string(out), "--- PASS: TestCheckEnv", "%s=%s: child output:\n%s", EnvVar, s, out)
	}
}

func TestParallelForCovers(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 7} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 5, 64, 1000} {
			seen := make([]int, n)
			parallelFor(n, 3, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i]++
				}
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("threads=%d n=%d: index %d visited %d times", threads, n, i, c)
				}
			}
		}
	}
	SetThreads(0)
}

// TestParallelForExported checks that ParallelFor covers [0, n) once, on at
// most Threads() goroutines, that the kernels called inside run on their
// caller's goroutine alone (opThreads() == 1) and split again afterwards,
// and that a product computed inside is bitwise the one computed outside.
func TestParallelForExported(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 4))
	in := newSgemmInputs(sgemmCase{m: 100, n: 70, k: 90, alpha: 1, beta: 0}, rng)
	want := in.call(Sgemm)
	for _, threads := range []int{1, 2, 3, 7} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 5, 64} {
			seen := make([]atomic.Int32, n)
			var calls, inner atomic.Int32
			ParallelFor(n, func(lo, hi int) {
				calls.Add(1)
				if opThreads() != 1 {
					inner.Add(1)
				}
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
				got := in.call(Sgemm)
				for x := range got {
					if math.Float32bits(got[x]) != math.Float32bits(want[x]) {
						t.Errorf("threads=%d n=%d: C buffer index %d = %v inside, %v outside", threads, n, x, got[x], want[x])
						return
					}
				}
			})
			for i := range seen {
				require.Equal(t, int32(1), seen[i].Load(), "threads=%d n=%d: index %d", threads, n, i)
			}
			require.LessOrEqual(t, int(calls.Load()), threads, "threads=%d n=%d: more calls than threads", threads, n)
			if threads > 1 && n > 1 {
				require.Zero(t, inner.Load(), "threads=%d n=%d: kernels inside ParallelFor split their work", threads, n)
			}
			require.Equal(t, threads, opThreads(), "kernels split again after ParallelFor")
		}
	}
}

// TestJobs checks that Jobs.Run covers [0, n) once with the call's own
// arguments, on at most Threads() goroutines, the kernels inside on their
// caller's goroutine alone, and that a steady state of calls allocates
// nothing (not under -race, whose sync.Pool drops items on purpose).
func TestJobs(t *testing.T) {
	defer SetThreads(0)
	type args struct {
		seen  []atomic.Int32
		tag   int32
		calls *atomic.Int32
		inner *atomic.Int32
	}
	jobs := NewJobs(func(a *args, lo, hi int) {
		a.calls.Add(1)
		if opThreads() != 1 {
			a.inner.Add(1)
		}
		for i := lo; i < hi; i++ {
			a.seen[i].Add(a.tag)
		}
	})
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 5, 64} {
			var calls, inner atomic.Int32
			seen := make([]atomic.Int32, n)
			for tag := int32(1); tag <= 3; tag++ { // each call sees its own arguments
				jobs.Run(n, args{seen: seen, tag: tag, calls: &calls, inner: &inner})
			}
			for i := range seen {
				require.Equal(t, int32(6), seen[i].Load(), "threads=%d n=%d: index %d", threads, n, i)
			}
			require.LessOrEqual(t, int(calls.Load()), 3*threads, "threads=%d n=%d: more calls than threads", threads, n)
			if threads > 1 && n > 1 {
				require.Zero(t, inner.Load(), "threads=%d n=%d: kernels inside Jobs.Run split their work", threads, n)
			}
			require.Equal(t, threads, opThreads(), "kernels split again after Jobs.Run")
			if raceEnabled {
				continue
			}
			a := args{seen: seen, tag: 1, calls: &calls, inner: &inner}
			allocs := testing.AllocsPerRun(10, func() { jobs.Run(n, a) })
			require.Zero(t, allocs, "threads=%d n=%d: allocations per Jobs.Run", threads, n)
		}
	}
}
