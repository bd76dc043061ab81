package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/petl-go/petl/kernels"
	"github.com/stretchr/testify/require"
)

// TestVersion: petl version and petl --version print the version, the Go
// version and the kernel variant, and exit 0.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, stderr := runCLI(t, args...)
		require.Equal(t, 0, code, stderr)
		require.Regexp(t, `^petl \S`, out)
		require.Contains(t, out, "  module   github.com/petl-go/petl\n")
		require.Contains(t, out, "  commit   ")
		require.Contains(t, out, runtime.GOOS+"/"+runtime.GOARCH)
		require.Contains(t, out, "  kernels  "+kernels.Active().String())
		require.Regexp(t, `  go       go1\.\d+`, out)
	}
	code, _, stderr := runCLI(t, "version", "now")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "unexpected arguments")
}

// TestVersionText reads the build information go build records.
func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/petl-go/petl", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-05-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := versionText(bi)
	require.Contains(t, got, "petl v0.3.0\n")
	require.Contains(t, got, "  commit   0123456789abcdef0123456789abcdef01234567 (2026-05-01T10:00:00Z, modified: built with uncommitted changes)\n")
	require.Contains(t, got, "  go       go1.26.0 ")

	bi.Settings = bi.Settings[:3]
	require.Contains(t, versionText(bi), "01234567 (2026-05-01T10:00:00Z)\n")

	got = versionText(nil)
	require.Contains(t, got, "petl (unknown: built without module information)\n")
	require.Contains(t, got, "  commit   unknown")
	require.Contains(t, got, "  go       "+runtime.Version())
}
