// Package gen holds the generators of every assembly file in
// kernels/internal/asm (`make generate` runs them all; `make
// check-generated` fails when the committed output differs).
//
// The layout: contract/ is the pseudo-Go definition of every kernel (name,
// signature, doc comment), written once for all instruction sets, with the
// few per-ISA notes in contract.ISA. Each op family, named after package
// kernels, has one folder with a generator per instruction set family:
//
//   - rows/: vector ops, bias, layer norm, AdamW (rows_*.s);
//   - act/: exp, tanh, GELU, bias + GELU and softmax (act_*.s); act/coef
//     holds the polynomials both share;
//   - sgemm/: the float32 micro-kernels and packing (sgemm_*.s);
//   - qgemm/: the int8 product's tile, Qgemm's mr rows of quantized
//     activations by the 16 int8 channels of a sliver, summed in int32 and
//     scaled to float32 (qgemm_*.s);
//   - qrows/: int8 row quantization, the range of a row and then its bytes
//     (qrows_*.s);
//
// each with amd64/ (avo, AVX2 and AVX-512 from one description
// parameterised by vector width) and arm64/ (NEON). The amd64 generators
// share one front end, package avx: avo's passes, the assembly and stub
// files (Command, CommandStubs, Generate), and the pieces every kernel
// writes alike (Function, Addr, Horizontal, BroadcastD, Rows for a matrix
// read in place). The arm64 generators speak one dialect, package neon: register
// groups and block widths, op wrappers, a register allocator, a constant
// pool, frames laid out from the Go signature, and the same front end
// (neon.Command). Both front ends parse the same flags, write the files and
// exit through package command, whose Stubs writes the Go declarations
// that a generator writes by hand (constants beside the functions).
//
// To add an activation: write its contract in contract/act.go, its
// approximation once per ISA (act/amd64/funcs.go, act/arm64/funcs.go, with
// shared coefficients in act/coef) and one line in each generator's list of
// kernels (act/amd64/main.go genMaps, act/arm64/main.go kernels); then
// `make generate` and the stub in package kernels. To add an int8 kernel:
// its contract in contract/qgemm.go (a tile) or contract/qrows.go (a pass
// over a row), its emitter in qgemm/ or qrows/ beside the others (amd64:
// an entry in the tiles list or an emit function called from main; arm64:
// the same with package neon), `make generate`, then its wiring in package
// kernels (qgemm_*.go, qrows_*.go choose the path from the CPU's features:
// AVX512BW, AVX512VNNI, the dot-product extension). To add an ISA: add its
// contract.ISA, and either a width to the avo generators (an isa value in
// each amd64/ folder) or, for a new architecture, a sibling folder (say
// rows/riscv64) per op family with an emitter package beside neon/.
package gen
