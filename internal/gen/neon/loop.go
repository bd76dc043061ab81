package neon

import "fmt"

// Stage is one stage of a Loop: a loop head, and the block that handles Step
// elements at a time.
type Stage struct {
	// Label names the stage's loop head.
	Label string
	// Head, if not nil, emits what follows the label on every iteration,
	// before the counter is tested: typically a comment on the stage.
	Head func()
	// Step is the number of elements one iteration handles; 0 makes the
	// stage straight-line code, run once on the way to the next stage.
	Step int
	// Body, if not nil, emits one iteration (or, with Step 0, the code).
	Body func()
}

// Loop emits a loop over the element count in register counter (a
// non-negative count, counted down) in stages, for example 16 floats at a
// time, then 4, then 1. A stage of step s > 1 repeats
//
//	label: head; CMP $s, counter; BLT next; body; SUB $s, counter; B label
//
// a stage of step 1 tests the counter with CBZ instead of CMP and BLT, and
// next is the following stage's label or, after the last, done, which is
// placed after it.
func (b *Builder) Loop(counter string, stages []Stage, done string) {
	for i, s := range stages {
		next := done
		if i+1 < len(stages) {
			next = stages[i+1].Label
		}
		b.Label(s.Label)
		if s.Head != nil {
			s.Head()
		}
		switch {
		case s.Step < 0:
			panic(fmt.Sprintf("neon: loop stage %s has step %d", s.Label, s.Step))
		case s.Step == 1:
			b.Op("CBZ", counter, next)
		case s.Step > 1:
			b.Op("CMP", fmt.Sprintf("$%d", s.Step), counter)
			b.Op("BLT", next)
		}
		if s.Body != nil {
			s.Body()
		}
		if s.Step > 0 {
			b.Op("SUB", fmt.Sprintf("$%d", s.Step), counter)
			b.Op("B", s.Label)
		}
	}
	b.Label(done)
}
