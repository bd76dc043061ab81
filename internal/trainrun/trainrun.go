package trainrun

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// ErrInterrupted and ErrDiverged are what every run's interrupted and
// diverged errors wrap: errors.Is(err, ErrInterrupted) holds for a stopped
// fine-tuning and a stopped pretraining alike. Each kind of run has its own
// value too (Interrupted, Diverged), whose message names it.
var (
	ErrInterrupted = errors.New("interrupted")
	ErrDiverged    = errors.New("diverged")
)

// runError is one kind of run's ErrInterrupted or ErrDiverged: "training
// interrupted", "pretraining diverged".
type runError struct {
	run string // "training", "pretraining"
	err error  // ErrInterrupted or ErrDiverged
}

func (e *runError) Error() string { return e.run + " " + e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// Interrupted returns the error a run of the kind named by run returns
// (wrapped) when its context was cancelled: its message is "<run>
// interrupted" and it wraps ErrInterrupted. Make it once per kind of run:
// errors.Is matches it by identity.
func Interrupted(run string) error { return &runError{run, ErrInterrupted} }

// Diverged returns the error a run of the kind named by run returns
// (wrapped) when a loss or a gradient stops being finite: its message is
// "<run> diverged" and it wraps ErrDiverged. Make it once per kind of run.
func Diverged(run string) error { return &runError{run, ErrDiverged} }

// Log writes a run's progress lines to W; a nil W is quiet.
type Log struct{ W io.Writer }

// Printf writes one formatted line (format ends in "\n") unless l is quiet.
func (l Log) Printf(format string, args ...any) {
	if l.W != nil {
		fmt.Fprintf(l.W, format, args...)
	}
}

// Clock times a run in this process, from the step it began (or resumed)
// at.
type Clock struct {
	Start     time.Time // when this process began the run
	StartStep int       // the step it began at
}

// Timing says the time elapsed since Start and, while steps remain before
// total, the time left for them at the rate since Start: "elapsed 1m4s, ETA
// 2m10s", both rounded to the second.
func (c Clock) Timing(now time.Time, step, total int) string {
	el := now.Sub(c.Start)
	s := "elapsed " + el.Round(time.Second).String()
	if done := step - c.StartStep; done > 0 && step < total {
		eta := time.Duration(float64(el) / float64(done) * float64(total-step))
		s += ", ETA " + eta.Round(time.Second).String()
	}
	return s
}

// Rate is n per second of d (d under a nanosecond counts as one).
func Rate(n int, d time.Duration) float64 {
	return float64(n) / max(d.Seconds(), 1e-9)
}

// IdentityDiff compares the identity of the run that wrote a checkpoint
// with that of the run resuming it, two values of one struct type whose
// fields are what must agree, and lists the fields that differ, named by
// their JSON keys (as the checkpoint stores them): "lr is 0.005 there, 0.01
// here; batch is 8 there, 4 here". "" means they agree. Fields are compared
// as fmt's %v prints them, so a nil and an empty slice or map agree, as
// they do after a JSON round trip.
func IdentityDiff(checkpoint, now any) string {
	cv, nv := reflect.ValueOf(checkpoint), reflect.ValueOf(now)
	if cv.Type() != nv.Type() || cv.Kind() != reflect.Struct {
		panic(fmt.Sprintf("trainrun.IdentityDiff: %v and %v are not one struct type", cv.Type(), nv.Type()))
	}
	var diffs []string
	for i := range cv.NumField() {
		c, n := fmt.Sprint(cv.Field(i).Interface()), fmt.Sprint(nv.Field(i).Interface())
		if c != n {
			name, _, _ := strings.Cut(cv.Type().Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = cv.Type().Field(i).Name
			}
			diffs = append(diffs, fmt.Sprintf("%s is %s there, %s here", name, c, n))
		}
	}
	return strings.Join(diffs, "; ")
}
