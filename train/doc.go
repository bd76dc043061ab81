// Package train is petl's training loop: it fine-tunes a BERT model on a
// task under one of the methods of package adapter (adapters, full
// fine-tuning, top-k layers, layer norms and head) with the BERT recipe
// (AdamW, linear warm-up and decay, gradient clipping), evaluates on the dev
// set after each epoch keeping the best weights as an adapter file
// (optionally stopping early when the dev score stops improving), records
// each evaluation in a JSON-lines metrics file, and writes resumable
// checkpoints.
//
// A run is deterministic for a seed: the example order of each epoch
// depends only on (seed, epoch), the dropout masks of each step only on
// (seed, step), and the kernels give the same bits for any thread count. An
// interrupted run (context cancelled) writes a checkpoint from which Resume
// continues to exactly the result of an uninterrupted run.
package train
