// Command petl trains and runs bottleneck adapters on a frozen BERT.
//
// Usage:
//
//	petl <command> [flags]
//
// Run `petl help` for the list of commands, `petl help <command>` (or
// `petl <command> -h`) for one command's flags and examples, and
// `petl version` for the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/petl-go/petl/kernels"
)

// command is one petl subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands maps subcommand names to their implementations; files of this
// package add themselves in init.
var commands = map[string]command{}

// errOut receives error messages; tests replace it.
var errOut io.Writer = os.Stderr

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// The first signal asks the command to stop (a training run
		// writes its checkpoint first); a second one ends the process
		// at once, as if petl did not catch signals.
		stop()
	}()
	code := runMain(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// runMain runs the command line args (without the program name) and
// returns the exit status: 0 on success and for help that was asked for,
// 1 when the command failed, 2 for a mistake in the command line (an
// unknown command or flag, a value that makes no sense, a bad
// PETL_KERNELS).
func runMain(ctx context.Context, args []string) int {
	// A forced kernel variant that is unknown or cannot run here stops every
	// command, help and version included, before it starts, rather than
	// letting it run on a variant other than the one asked for.
	if err := kernels.CheckEnv(); err != nil {
		fmt.Fprintf(errOut, "petl: %v\n", err)
		return 2
	}
	if len(args) == 0 {
		usage(errOut)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(errOut, "petl: %v\nRun 'petl help' for the list of commands.\n", unknownCommand(name))
		return 2
	}
	err := cmd.run(ctx, args[1:])
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		topic := "petl help " + name
		if name == "help" {
			topic = "petl help"
		}
		fmt.Fprintf(errOut, "petl %s: %v\nRun '%s' for usage.\n", name, err, topic)
		return 2
	case ctx.Err() != nil && err == ctx.Err():
		fmt.Fprintf(errOut, "petl %s: interrupted\n", name)
		return 1
	default:
		fmt.Fprintf(errOut, "petl %s: %v\n", name, err)
		return 1
	}
}

// flagsSet returns the names of the flags given on fs's command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
