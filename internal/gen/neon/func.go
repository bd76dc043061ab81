package neon

import "strings"

// Func is one function being emitted with values: its body is collected
// first, so that the prologue can load exactly the constants the body used.
// It has an Alloc for values, a Pool for constants, the Frame of its Go
// signature, and labels prefixed with its name.
type Func struct {
	Builder // the body
	// Name is the function's Go name.
	Name string
	// Frame is the layout of its arguments.
	Frame Frame
	// Regs allocates V0 up to the pool's first register.
	Regs *Alloc
	// Consts is the constant pool, named after the function.
	Consts *Pool

	args Builder // the argument loads
}

// NewFunc starts the function name with Go signature sig (see ParseFrame),
// values in V0..V(firstConst-1) and constants from firstConst on.
func NewFunc(name, sig string, firstConst V) *Func {
	f := &Func{
		Name:   name,
		Frame:  ParseFrame(sig),
		Regs:   NewAlloc(name, int(firstConst)),
		Consts: NewPool(strings.ToLower(name[:1])+name[1:]+"const", firstConst),
	}
	f.SpaceLabels = true
	return f
}

// Ref returns the name of the function's label l.
func (f *Func) Ref(l string) string { return f.Name + "_" + l }

// Place places the function's label l.
func (f *Func) Place(l string) { f.Label(f.Ref(l)) }

// LoadArg emits, in the prologue, the load of argument name (its data
// pointer for a slice) into reg.
func (f *Func) LoadArg(name, reg string) { f.Frame.Load(&f.args, name, reg) }

// LoadLen emits, in the prologue, the load of slice argument name's length
// into reg.
func (f *Func) LoadLen(name, reg string) { f.Frame.LoadLen(&f.args, name, reg) }

// Const returns a new value of width n holding the constant with these
// bits in every lane.
func (f *Func) Const(n int, bits uint32) Vals {
	r, l := f.Consts.Lane(bits)
	v := f.Regs.Vals(n)
	for _, d := range v {
		f.Dup(d, r, l)
	}
	return v
}

// WriteTo writes the finished function to b: its constant table, the TEXT
// line (after "// func Name"), the argument loads, the constant loads
// (through R9), the body and RET.
func (f *Func) WriteTo(b *Builder) {
	f.Consts.Data(b, f.Name)
	b.Func(f.Name, "", 0, f.Frame.Size)
	b.Write(f.args.Bytes())
	f.Consts.Prologue(b, "R9")
	b.Write(f.Bytes())
	b.Inst("RET")
}
