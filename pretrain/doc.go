// Package pretrain trains a BERT encoder from scratch with masked language
// modelling: the BERT recipe (15% of the tokens chosen, of those 80%
// replaced by [MASK], 10% by a random token, 10% left unchanged) and the MLM
// head of Hugging Face BertForPreTraining, without next-sentence prediction
// (later work found it unnecessary); optionally with sentence-order
// prediction (ALBERT), which trains the pooler that classification heads
// read. Sequences are packed from consecutive sentences of a document.
//
// Shapes use the legend of package nn: B batch, T tokens, C hidden size, V
// vocabulary, M masked positions of a batch.
package pretrain
