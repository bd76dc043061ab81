package neon

import (
	"fmt"
	"go/ast"
	"go/parser"
	"strings"
)

// ArgType is the Go type of a kernel argument.
type ArgType int

// The argument types of the kernels.
const (
	Float32s ArgType = iota // []float32
	Int                     // int
	Float32                 // float32
	Pointer                 // *float32
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
	case Pointer:
		return "*float32"
	}
	panic(fmt.Sprintf("neon: no argument type %d", int(t)))
}

// size returns the bytes the type takes in the argument frame.
func (t ArgType) size() int {
	switch t {
	case Float32s:
		return 24 // pointer, length, capacity
	case Int, Pointer:
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
	sig  string // the signature as ParseFrame was given it
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

// ParseFrame lays out the arguments of the Go signature sig, written
// "(y, x []float32, rows int) float32" (a leading "func" is allowed):
// parameters of type []float32, int, float32 or *float32 and no result or
// a float32 named ret.
func ParseFrame(sig string) Frame {
	src := strings.TrimPrefix(sig, "func")
	expr, err := parser.ParseExpr("func" + src)
	if err != nil {
		panic(fmt.Sprintf("neon: signature %q: %v", sig, err))
	}
	ft := expr.(*ast.FuncType)
	var args []Arg
	for _, field := range ft.Params.List {
		t := argType(sig, field.Type)
		for _, n := range field.Names {
			args = append(args, Arg{Name: n.Name, Type: t})
		}
	}
	ret := false
	if ft.Results != nil {
		if len(ft.Results.List) != 1 || argType(sig, ft.Results.List[0].Type) != Float32 {
			panic(fmt.Sprintf("neon: signature %q: only a float32 result is supported", sig))
		}
		ret = true
	}
	f := NewFrame(args, ret)
	f.sig = src
	return f
}

// argType returns the ArgType of a parameter's type expression.
func argType(sig string, e ast.Expr) ArgType {
	switch t := e.(type) {
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && t.Len == nil && id.Name == "float32" {
			return Float32s
		}
	case *ast.StarExpr:
		if id, ok := t.X.(*ast.Ident); ok && id.Name == "float32" {
			return Pointer
		}
	case *ast.Ident:
		switch t.Name {
		case "int":
			return Int
		case "float32":
			return Float32
		}
	}
	panic(fmt.Sprintf("neon: signature %q: unsupported parameter type", sig))
}

// Load emits the load of argument name into register reg: the data
// pointer of a slice, an int or pointer with MOVD, a float32 into the FP
// register reg (F0..F31) with FMOVS.
func (f Frame) Load(b *Builder, name, reg string) {
	for _, a := range f.args {
		if a.Name != name {
			continue
		}
		switch a.Type {
		case Float32s:
			b.Op("MOVD", f.Base(name), reg)
		case Float32:
			b.Op("FMOVS", f.Arg(name), reg)
		default:
			b.Op("MOVD", f.Arg(name), reg)
		}
		return
	}
	panic(fmt.Sprintf("neon: no argument %s", name))
}

// LoadLen emits the load of slice argument name's length into reg.
func (f Frame) LoadLen(b *Builder, name, reg string) { b.Op("MOVD", f.Len(name), reg) }

// Signature returns the Go parameters and result as ParseFrame was given
// them ("(y, x []float32)"), or, for a frame from NewFrame, Expanded.
func (f Frame) Signature() string {
	if f.sig != "" {
		return f.sig
	}
	return f.Expanded()
}

// Expanded returns the Go parameters and result, each parameter with its
// own type: "(x []float32, y []float32) float32".
func (f Frame) Expanded() string {
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
