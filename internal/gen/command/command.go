// Package command is the command line every generator shares: the flags
// -out (the assembly file) and -stubs (the Go declarations), both required,
// and -pkg (the declarations' package, asm unless given); the writing of
// the two files; and the exit status. The front ends neon.Command (arm64)
// and avx.Command (amd64) are built on it.
package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Flags are a generator's parsed flags.
type Flags struct {
	Out   string // the assembly file
	Stubs string // the Go stub file
	Pkg   string // the package of the Go stubs
}

// ErrUsage reports bad flags, which Parse has already described.
var ErrUsage = errors.New("usage")

// Parse parses args as the flags of the generator called name, printing
// the usage to stderr when they are bad. It returns flag.ErrHelp for -h and
// ErrUsage for bad flags.
func Parse(name string, args []string, stderr io.Writer) (Flags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "assembly output file (required)")
	stubs := fs.String("stubs", "", "Go stub output file (required)")
	pkg := fs.String("pkg", "asm", "package of the Go stubs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Flags{}, err
		}
		return Flags{}, ErrUsage
	}
	if *out == "" || *stubs == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: %s -out FILE.s -stubs FILE.go [-pkg NAME]\n", name)
		return Flags{}, ErrUsage
	}
	return Flags{Out: *out, Stubs: *stubs, Pkg: *pkg}, nil
}

// Write writes the assembly asm to f.Out and the stub source stubs to
// f.Stubs.
func (f Flags) Write(asm, stubs []byte) error {
	for _, file := range []struct {
		path string
		src  []byte
	}{{f.Out, asm}, {f.Stubs, stubs}} {
		if err := os.WriteFile(file.path, file.src, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", file.path, err)
		}
	}
	return nil
}

// Exit ends the generator called name after err, its run's result: status
// 0 for nil or -h, 2 for bad flags (already described), and 1 for any
// other error, which it prints prefixed with name.
func Exit(name string, err error) {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, ErrUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
