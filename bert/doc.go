// Package bert is the BERT encoder: its configuration (config.json), the
// frozen weights read from safetensors checkpoints (memory-mapped read-only),
// the embeddings, the transformer layers with optional adapter hooks, the
// pooler, the masked-language-model head, and their hand-written backward
// passes.
//
// A Model runs one batch (Forward, Backward) or a mixed batch of many tasks
// that share one base (ForwardMixed); Model.View gives a model that shares
// the frozen weights and owns its trainable ones. Text becomes model input
// through package wordpiece (the tokenizer) and Batch (padding and masks).
package bert
