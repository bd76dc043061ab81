package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/petl-go/petl/kernels"
)

func init() {
	commands["cpu"] = command{"print the detected CPU features and the kernel variant in use", runCPU}
}

func runCPU(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cpu", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Print(kernels.Describe())
	return nil
}
