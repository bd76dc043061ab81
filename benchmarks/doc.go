// Package benchmarks holds petl's benchmarks, read with benchstat: the
// kernels (SGEMM, row and transcendental ops) per variant and thread count,
// BERT inference and the training step, mixed-task batches and the request
// stream, the tokenizer, and the memory each task adds. The compare-*.sh
// scripts run them side by side with the reference programs of
// ../shared/anchors (OpenBLAS, PyTorch) in alternating rounds; README.md
// has the figures and the commands that gave them.
//
// The package has no code of its own beyond its tests.
package benchmarks
