package petl_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/models"
	"github.com/stretchr/testify/require"
)

// TestOpenRefusesBadKernelsEnv checks, in a child process whose
// PETL_KERNELS names no variant, that Open returns an error naming the
// variable and its value instead of running on other kernels (the kernels
// package itself no longer ends the process over it).
func TestOpenRefusesBadKernelsEnv(t *testing.T) {
	if os.Getenv("PETL_OPEN_ENV_CHILD") == "1" {
		dir, err := models.TinyDir()
		require.NoError(t, err)
		_, err = petl.Open(dir, petl.Options{})
		require.Error(t, err)
		require.Contains(t, err.Error(), kernels.EnvVar+"=no-such-variant")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenRefusesBadKernelsEnv$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PETL_OPEN_ENV_CHILD=1", kernels.EnvVar+"=no-such-variant")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child: %s", out)
	require.Contains(t, string(out), "PASS")
}
