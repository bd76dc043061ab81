package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/petl-go/petl/kernels"
)

func init() {
	commands["version"] = command{"print petl's version and commit, the Go version and the kernel variant", runVersion}
}

func runVersion(ctx context.Context, args []string) error {
	fs := newFlagSet("version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(helpOut, versionText(bi))
	return nil
}

// versionText describes the build bi (nil when the binary carries no build
// information): the main module's version, the commit and whether the tree
// had uncommitted changes, the Go version and platform, and the kernel
// variant chosen for this CPU.
func versionText(bi *debug.BuildInfo) string {
	var b strings.Builder
	version, module := "(unknown: built without module information)", "github.com/petl-go/petl"
	settings := map[string]string{}
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.Main.Path != "" {
			module = bi.Main.Path
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	fmt.Fprintf(&b, "petl %s\n", version)
	fmt.Fprintf(&b, "  module   %s\n", module)
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "  commit   %s", rev)
		var notes []string
		if t := settings["vcs.time"]; t != "" {
			notes = append(notes, t)
		}
		if settings["vcs.modified"] == "true" {
			notes = append(notes, "modified: built with uncommitted changes")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("  commit   unknown (not built from a git checkout with go build or go install)\n")
	}
	goVersion := runtime.Version()
	if bi != nil && bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(&b, "  go       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "  kernels  %s", kernels.Active())
	if s := os.Getenv(kernels.EnvVar); s != "" {
		fmt.Fprintf(&b, " (forced by %s=%s)", kernels.EnvVar, s)
	}
	names := make([]string, 0, 4)
	for _, v := range kernels.Supported() {
		names = append(names, v.String())
	}
	fmt.Fprintf(&b, "; this CPU supports %s\n", strings.Join(names, ", "))
	return b.String()
}
