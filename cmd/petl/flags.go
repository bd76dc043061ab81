package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// newFlagSet makes a command's flag set: errors are returned, not printed,
// and -h or --help prints the command's help (parseFlags).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses a command's arguments into fs (made by newFlagSet). On
// -h or --help it prints the command's help to helpOut and returns
// flag.ErrHelp, which main turns into exit status 0; a bad flag, a bad value
// or a stray argument is a usageError (exit status 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(helpOut, fs.Name(), fs)
		return flag.ErrHelp
	case err != nil:
		return usageError{err}
	case fs.NArg() > 0:
		return badFlag("unexpected arguments %q (every value is given with a flag)", fs.Args())
	}
	return nil
}

// usageError is a mistake in the command line: main prints it with a
// pointer to the command's help and exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badFlag is a usageError with a formatted message, which names the flag.
func badFlag(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// positive checks that an int flag is at least 1.
func positive(name string, v int) error {
	if v <= 0 {
		return badFlag("--%s %d: want a positive number", name, v)
	}
	return nil
}

// nonNegative checks that an int flag is 0 or more; zero says what 0 means.
func nonNegative(name string, v int, zero string) error {
	if v < 0 {
		return badFlag("--%s %d: want 0 (%s) or more", name, v, zero)
	}
	return nil
}

// inRange checks that a float flag is a number in [lo, hi] (hi excluded
// when openHi).
func inRange(name string, v, lo, hi float64, openHi bool) error {
	ok := v >= lo && v <= hi && !(openHi && v == hi)
	if ok {
		return nil
	}
	end := "]"
	if openHi {
		end = ")"
	}
	return badFlag("--%s %s: want a number in [%s, %s%s", name, formatFloat(v), formatFloat(lo), formatFloat(hi), end)
}

// positiveFloat checks that a float flag is a finite number above 0.
func positiveFloat(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return badFlag("--%s %s: want a positive number", name, formatFloat(v))
	}
	return nil
}

// nonNegativeFloat checks that a float flag is a finite number, 0 or more;
// zero says what 0 means.
func nonNegativeFloat(name string, v float64, zero string) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return badFlag("--%s %s: want 0 (%s) or a positive number", name, formatFloat(v), zero)
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// formatFloat writes a flag's float as people write it: 0.01, 0.1, 2, and
// small values in exponent form, 2e-5 and 1e-3; a float32 setting widened
// to float64 (0.009999999776482582) prints as the float32 it was (0.01).
func formatFloat(v float64) string {
	if float64(float32(v)) == v {
		// The shortest spelling that reads back as the same float32.
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 32), 64)
	}
	if v != 0 && math.Abs(v) < 1e-2 && !math.IsNaN(v) {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		sign := ""
		if exp[0] == '-' {
			sign = "-"
		}
		return mant + "e" + sign + strings.TrimLeft(exp[1:], "0")
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// shortFloat is x as the float64 with x's shortest decimal spelling, so that
// a float32 default (AdamW's 0.01 weight decay) shows as written.
func shortFloat(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}
