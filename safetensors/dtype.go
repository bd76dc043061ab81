// Package safetensors reads and writes the safetensors tensor file format
// (https://huggingface.co/docs/safetensors), trusting nothing in the files
// it reads.
//
// A file is an 8-byte little-endian header length N, then N bytes of JSON
// header, then the data section. The header maps each tensor name to its
// dtype, shape and [begin, end) byte offsets relative to the start of the
// data section, plus an optional "__metadata__" object of string values.
// Tensor data is little-endian and row-major.
//
// Open validates everything before handing out a tensor: the header length
// against the file size and a cap, the JSON itself (no duplicate keys, no
// unknown fields, only known dtypes, non-negative integer shapes), that the
// byte length of each tensor is its element count times the dtype size,
// that the tensors lie inside the data section, do not overlap and cover
// it exactly. F32 tensors are then returned as []float32 slices over a
// read-only shared memory mapping of the file (on unix systems): no copy,
// and writing into one is a fault. F16 and BF16 tensors are converted to
// float32 in memory when the file is opened.
package safetensors

import "fmt"

// DType is a safetensors element type, spelled as in the header ("F32").
type DType string

// The element types of the safetensors format. Only F32, F16 and BF16 can
// be read as float32 and I64, I32, I16, I8, U8, U16, U32, U64 and BOOL as
// integers; the others are accepted in a file and available as raw bytes.
const (
	BOOL    DType = "BOOL"
	U8      DType = "U8"
	I8      DType = "I8"
	F8E5M2  DType = "F8_E5M2"
	F8E4M3  DType = "F8_E4M3"
	I16     DType = "I16"
	U16     DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I32     DType = "I32"
	U32     DType = "U32"
	F32     DType = "F32"
	F64     DType = "F64"
	I64     DType = "I64"
	U64     DType = "U64"
	unknown DType = ""
)

// Size is the size in bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E5M2, F8E4M3:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// Valid reports whether d is a dtype of the format.
func (d DType) Valid() bool { return d.Size() != 0 }

// IsFloat reports whether tensors of this dtype can be read as float32
// (F32 without loss, F16 and BF16 exactly widened).
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 }

// IsInt reports whether tensors of this dtype can be read as int64.
func (d DType) IsInt() bool {
	switch d {
	case BOOL, U8, I8, I16, U16, I32, U32, I64, U64:
		return true
	}
	return false
}

func (d DType) String() string { return string(d) }

// parseDType checks a dtype string from a header.
func parseDType(s string) (DType, error) {
	d := DType(s)
	if !d.Valid() {
		return unknown, fmt.Errorf("unknown dtype %q", s)
	}
	return d, nil
}
