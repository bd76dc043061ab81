// Package avx is the front end every amd64 generator shares, the
// counterpart of package neon's Command for the arm64 ones: it parses the
// generator's flags, lets the generator fill an avo build context, and
// writes the assembly and the Go stubs.
package avx

import (
	"io"
	"os"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"

	"github.com/petl-go/petl/internal/gen/command"
)

// Command is the main function of a generator. It parses the flags -out
// (the assembly file) and -stubs (the Go declarations), both required, and
// -pkg (the declarations' package, asm unless given), lets emit fill an avo
// build context with build constraint constraint, and writes both files,
// each with a "Code generated" line naming generator (its import path below
// the module). The stubs are avo's declarations of the context's functions.
// On an error it prints it, prefixed with generator, and exits with status 1
// (2 for bad flags).
func Command(generator, constraint string, emit func(*build.Context)) {
	CommandStubs(generator, constraint, emit, nil)
}

// Stubs returns the Go stub file of a generator whose declarations are more
// than avo's (constants beside the functions, say): the source for package
// pkg, with a "Code generated" line naming generator.
type Stubs func(generator, pkg string) ([]byte, error)

// CommandStubs is Command with the Go stubs written by stubs instead of
// avo's printer.
func CommandStubs(generator, constraint string, emit func(*build.Context), stubs Stubs) {
	if err := run(os.Args[1:], os.Stderr, generator, constraint, emit, stubs); err != nil {
		command.Exit(generator, err)
	}
}

// run is CommandStubs with its arguments and error output given.
func run(args []string, stderr io.Writer, generator, constraint string, emit func(*build.Context), stubs Stubs) error {
	flags, err := command.Parse(generator, args, stderr)
	if err != nil {
		return err
	}
	asm, goStubs, err := Generate(generator, constraint, flags.Pkg, emit, stubs)
	if err != nil {
		return err
	}
	return flags.Write(asm, goStubs)
}

// Generate runs emit on a new build context with build constraint
// constraint, compiles the result (register allocation included) and returns
// the assembly and the Go stubs for package pkg (written by stubs, or by
// avo's printer when stubs is nil), both naming generator in their "Code
// generated" line. Nothing is written.
func Generate(generator, constraint, pkg string, emit func(*build.Context), stubs Stubs) (asm, goStubs []byte, err error) {
	ctx := build.NewContext()
	ctx.ConstraintExpr(constraint)
	if err := emitting(ctx, emit); err != nil {
		return nil, nil, err
	}
	f, err := ctx.Result()
	if err != nil {
		return nil, nil, err
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, nil, err
	}
	cfg := printer.Config{Name: generator, Pkg: pkg}
	if asm, err = printer.NewGoAsm(cfg).Print(f); err != nil {
		return nil, nil, err
	}
	if stubs != nil {
		goStubs, err = stubs(generator, pkg)
	} else {
		goStubs, err = printer.NewStubs(cfg).Print(f)
	}
	if err != nil {
		return nil, nil, err
	}
	return asm, goStubs, nil
}

// emitting runs emit on ctx and returns the mistake it stopped at (see
// Addr), if any.
func emitting(ctx *build.Context, emit func(*build.Context)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			g, ok := r.(generatorError)
			if !ok {
				panic(r)
			}
			err = g.err
		}
	}()
	emit(ctx)
	return nil
}
