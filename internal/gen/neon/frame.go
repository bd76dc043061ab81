package neon

import (
	"fmt"
	"strings"
)

// ArgType is the Go type of a kernel argument.
type ArgType int

// The argument types of the kernels.
const (
	Float32s ArgType = iota // []float32
	Int                     // int
	Float32                 // float32
)

// GoType returns the Go spelling of the type.
func (t ArgType) GoType() string {
	switch t {
	case Float32s:
		return "[]float32"
	case Int:
		return "int"
	case Float32:
		return "float32"
	}
	panic(fmt.Sprintf("neon: no argument type %d", int(t)))
}

// size returns the bytes the type takes in the argument frame.
func (t ArgType) size() int {
	switch t {
	case Float32s:
		return 24 // pointer, length, capacity
	case Int:
		return 8
	case Float32:
		return 4
	}
	panic(fmt.Sprintf("neon: no argument type %d", int(t)))
}

// Arg is one argument of a kernel.
type Arg struct {
	Name string
	Type ArgType
}

// Args returns arguments of type t with the given names.
func Args(t ArgType, names ...string) []Arg {
	as := make([]Arg, len(names))
	for i, n := range names {
		as[i] = Arg{Name: n, Type: t}
	}
	return as
}

// Frame is the layout of a function's arguments (and float32 result, if
// any) in its argument frame as the Go ABI0 has it on arm64: each argument
// aligned to its size up to 8 bytes, the result after them at the next
// multiple of 8. Its methods return the operands that read them.
type Frame struct {
	args []Arg
	ret  bool
	off  map[string]int
	// Size is the size of the arguments and result in bytes, the second
	// number of the TEXT line.
	Size int
}

// NewFrame lays out args and, if ret, a float32 result named ret.
func NewFrame(args []Arg, ret bool) Frame {
	f := Frame{args: args, ret: ret, off: map[string]int{}}
	o := 0
	for _, a := range args {
		if _, dup := f.off[a.Name]; dup || a.Name == "ret" {
			panic(fmt.Sprintf("neon: argument %q given twice", a.Name))
		}
		size := a.Type.size()
		align := min(size, 8)
		o = (o + align - 1) / align * align
		f.off[a.Name] = o
		o += size
	}
	if ret {
		o = (o + 7) / 8 * 8
		f.off["ret"] = o
		o += 4
	}
	f.Size = o
	return f
}

// at returns the offset of argument name, which must have type t.
func (f Frame) at(name string, t ArgType) int {
	for _, a := range f.args {
		if a.Name == name {
			if a.Type != t {
				panic(fmt.Sprintf("neon: argument %s is %s, not %s", name, a.Type.GoType(), t.GoType()))
			}
			return f.off[name]
		}
	}
	panic(fmt.Sprintf("neon: no argument %s", name))
}

// Base returns the operand of slice argument name's data pointer
// ("x_base+8(FP)").
func (f Frame) Base(name string) string {
	return fmt.Sprintf("%s_base+%d(FP)", name, f.at(name, Float32s))
}

// Len returns the operand of slice argument name's length ("x_len+16(FP)").
func (f Frame) Len(name string) string {
	return fmt.Sprintf("%s_len+%d(FP)", name, f.at(name, Float32s)+8)
}

// Arg returns the operand of the int or float32 argument name
// ("rows+48(FP)").
func (f Frame) Arg(name string) string {
	for _, a := range f.args {
		if a.Name == name && a.Type != Float32s {
			return fmt.Sprintf("%s+%d(FP)", name, f.off[name])
		}
	}
	panic(fmt.Sprintf("neon: no scalar argument %s", name))
}

// Ret returns the operand of the float32 result ("ret+24(FP)").
func (f Frame) Ret() string {
	if !f.ret {
		panic("neon: the function has no result")
	}
	return fmt.Sprintf("ret+%d(FP)", f.off["ret"])
}

// Signature returns the Go parameters and result, each parameter with its
// own type: "(x []float32, y []float32) float32".
func (f Frame) Signature() string {
	ps := make([]string, len(f.args))
	for i, a := range f.args {
		ps[i] = a.Name + " " + a.Type.GoType()
	}
	s := "(" + strings.Join(ps, ", ") + ")"
	if f.ret {
		s += " float32"
	}
	return s
}
