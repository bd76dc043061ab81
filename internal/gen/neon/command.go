package neon

import (
	"io"
	"os"
	"path"

	"github.com/petl-go/petl/internal/gen/command"
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
	if err != nil {
		command.Exit(path.Base(generator), err)
	}
}

// errUsage reports bad flags, which the flag set has already described.
var errUsage = command.ErrUsage

// run is Command with its arguments and error output given.
func run(args []string, stderr io.Writer, generator, constraint string, emit func(*Builder, *Stubs)) error {
	flags, err := command.Parse(path.Base(generator), args, stderr)
	if err != nil {
		return err
	}
	b := New(generator, constraint)
	s := NewStubs(generator, constraint, flags.Pkg)
	emit(b, s)
	src, err := s.Source() // before writing anything
	if err != nil {
		return err
	}
	return flags.Write(b.Bytes(), src)
}
