// Package nn holds petl's neural-network building blocks: parameters, layers
// with Forward/Backward pairs, losses and activation arenas.
//
// Conventions shared by every layer in this package (after llm.c):
//
//   - Tensors are plain row-major []float32. Shape comments use the legend
//     B batch, T tokens per sequence, C channels (hidden size), NH heads,
//     HD head size (C/NH), I intermediate (feed-forward) size, V vocabulary,
//     L labels. "rows" is the number of rows a call covers, usually B*T.
//   - Outputs come first in argument lists, then saved activations, then
//     inputs: Forward(y, x, ...), Backward(dx, dy, x, ...).
//   - Backward accumulates: parameter gradients (Param.G) and input gradients
//     (dx) are added to (+=), never overwritten; zeroing is the caller's
//     separate step (Param.ZeroGrad, clear). A nil dx means "not needed".
//   - A frozen parameter (Param.Frozen) gets no gradient work at all.
//   - Layers hold parameters and sizes only. Activations live in an Arena and
//     are passed in, so one layer value serves any number of (B, T) shapes.
package nn
