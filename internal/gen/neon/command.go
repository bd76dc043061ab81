package neon

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
)

// Command is the main function of a generator. It parses the flags -out
// (the assembly file) and -stubs (the Go declarations), both required, and
// -pkg (the declarations' package, asm unless given), lets emit fill a
// Builder and Stubs started for generator (its import path below the
// module, for the "Code generated" lines) with build constraint constraint,
// and writes both files. On an error it prints it, prefixed with the
// command's name, and exits with status 1 (2 for bad flags).
func Command(generator, constraint string, emit func(*Builder, *Stubs)) {
	err := run(os.Args[1:], os.Stderr, generator, constraint, emit)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", path.Base(generator), err)
		os.Exit(1)
	}
}

// errUsage reports bad flags, which the flag set has already described.
var errUsage = errors.New("usage")

// run is Command with its arguments and error output given.
func run(args []string, stderr io.Writer, generator, constraint string, emit func(*Builder, *Stubs)) error {
	fs := flag.NewFlagSet(path.Base(generator), flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "assembly output file (required)")
	stubs := fs.String("stubs", "", "Go stub output file (required)")
	pkg := fs.String("pkg", "asm", "package of the Go stubs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *out == "" || *stubs == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: %s -out FILE.s -stubs FILE.go [-pkg NAME]\n", fs.Name())
		return errUsage
	}
	b := New(generator, constraint)
	s := NewStubs(generator, constraint, *pkg)
	emit(b, s)
	src, err := s.Source() // before writing anything
	if err != nil {
		return err
	}
	if err := b.WriteFile(*out); err != nil {
		return err
	}
	if err := os.WriteFile(*stubs, src, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", *stubs, err)
	}
	return nil
}
