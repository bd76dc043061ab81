package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain runs the test binary as petl itself when PETL_TEST_AS_MAIN is
// set (for the tests that send it signals).
func TestMain(m *testing.M) {
	if os.Getenv("PETL_TEST_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestSignalStopsPredict: petl predict reading a standard input that never
// delivers (a pipe nobody writes) ends within a second of SIGINT or
// SIGTERM, exit status 1, saying it was interrupted. It used to catch the
// signal and go on waiting: only SIGKILL stopped it.
func TestSignalStopsPredict(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "predict", "--adapter", repoPath("models", "adapters", "sst2"), "--pack", "off")
			cmd.Env = append(os.Environ(), "PETL_TEST_AS_MAIN=1", "XDG_CACHE_HOME="+t.TempDir())
			w, err := cmd.StdinPipe() // never written
			require.NoError(t, err)
			defer w.Close()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Long enough to have loaded the model and to wait on the input.
			select {
			case err := <-exited:
				t.Fatalf("predict ended before the signal: %v\n%s", err, stderr.String())
			case <-time.After(1500 * time.Millisecond):
			}
			require.NoError(t, cmd.Process.Signal(sig))
			t0 := time.Now()
			select {
			case err := <-exited:
				took := time.Since(t0)
				t.Logf("exited %v after the signal", took.Round(time.Millisecond))
				require.Less(t, took, time.Second)
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, 1, ee.ExitCode(), stderr.String())
				require.Contains(t, stderr.String(), "petl predict: interrupted")
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("predict did not stop on %v", sig)
			}
		})
	}
}

// TestBadKernelsEnv: with PETL_KERNELS naming no variant, every command,
// help and version included, stops at once with status 2 and a message
// naming the variable and its value (the kernels package reports it
// instead of ending the process; the command line ends it).
func TestBadKernelsEnv(t *testing.T) {
	for _, args := range [][]string{{"cpu"}, {"help"}, {"version"}, {"predict", "--adapter", "x"}} {
		t.Run(args[0], func(t *testing.T) {
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "PETL_TEST_AS_MAIN=1", "PETL_KERNELS=sse9")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "%s", out)
			require.Equal(t, 2, ee.ExitCode(), "%s", out)
			require.Contains(t, string(out), "PETL_KERNELS=sse9")
		})
	}
}
