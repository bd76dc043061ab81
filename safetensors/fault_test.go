package safetensors

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultChildEnv, when set to a file path, turns TestWriteToMappedTensorFaults
// into the child process that writes into a mapped tensor.
const faultChildEnv = "PETL_SAFETENSORS_FAULT_CHILD"

// TestWriteToMappedTensorFaults shows that the weights are frozen for real:
// a child process (this test binary, re-executed) opens a file and writes
// into an F32 tensor; the write must kill it with a memory fault, and the
// file must be unchanged.
func TestWriteToMappedTensorFaults(t *testing.T) {
	if path := os.Getenv(faultChildEnv); path != "" {
		f, err := Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: open:", err)
			os.Exit(3)
		}
		w, err := f.Float32("layer.weight")
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: tensor:", err)
			os.Exit(3)
		}
		fmt.Fprintln(os.Stderr, "child: writing into the mapped tensor")
		w[0] = 42
		fmt.Fprintln(os.Stderr, "child: write succeeded")
		os.Exit(0)
	}

	path := filepath.Join(t.TempDir(), "frozen.safetensors")
	require.NoError(t, WriteFile(path, sampleTensors(), nil))
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := Open(path)
	require.NoError(t, err)
	in, _ := f.Info("layer.weight")
	f.Close()
	if !f.Mapped() || !in.ZeroCopy {
		t.Skip("files are not memory-mapped on this platform")
	}

	child := []string{os.Args[0], "-test.run=^TestWriteToMappedTensorFaults$", "-test.count=1"}
	run := func(argv []string) (string, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), faultChildEnv+"="+path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	text, err := run(child)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && errors.Is(err, syscall.ENOEXEC) {
		// Under user-mode emulation (go test -exec qemu-aarch64-static) the
		// test binary cannot start itself directly: go through the
		// emulator if there is one.
		qemu, lookErr := exec.LookPath("qemu-" + map[string]string{"arm64": "aarch64", "amd64": "x86_64"}[runtime.GOARCH] + "-static")
		if lookErr != nil {
			t.Skipf("cannot re-execute the test binary here: %v", err)
		}
		text, err = run(append([]string{qemu}, child...))
	}
	require.ErrorAs(t, err, &exitErr, "the child must die, output:\n%s", text)
	assert.Contains(t, text, "child: writing into the mapped tensor")
	assert.NotContains(t, text, "child: write succeeded")
	assert.Regexp(t, `unexpected fault address|SIGSEGV|SIGBUS`, text, "the child died of a memory fault")
	if runtime.GOOS == "linux" {
		// SEGV_ACCERR: the page is mapped, but not writable.
		assert.Contains(t, text, "code=0x2", "the fault is a permission fault on a mapped page")
	}

	t.Logf("child output (head):\n%s", head(text, 4))

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the file is unchanged")
}

// head returns the first n lines of s.
func head(s string, n int) string {
	lines := strings.SplitAfterN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "")
}
