// Package wordpiece is BERT's tokenizer: the WordPiece vocabulary
// (vocab.txt), the basic tokenizer's text clean-up, lower-casing and
// punctuation split, the greedy longest-match-first split of words into
// pieces, and the encoding of one text or a pair into [CLS] a [SEP] b [SEP]
// with type ids and truncation. It matches the reference tokenizer's output
// token for token on the golden files (../shared/golden).
//
// Whether text is lower-cased is a property of the checkpoint: its
// tokenizer_config.json says so (ReadDoLowerCase, CheckpointCasing), and
// without one the vocabulary tells (VocabCasing).
//
// The package knows nothing of the model; bert.Batch pads encodings into
// the model's input.
package wordpiece
