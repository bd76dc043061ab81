// Package task reads the datasets petl trains and evaluates on: six GLUE
// tasks in their original TSV layouts (CoLA, SST-2, MRPC, STS-B, RTE, WNLI)
// and a plain TSV layout for users' own data. It also holds the batching
// helpers (deterministic shuffles, batches of indices) and the metrics
// (accuracy, F1, Matthews correlation, Pearson, Spearman) with the GLUE score
// of each task.
//
// A data directory holds one folder per GLUE task with the GLUE file names:
//
//	<dataDir>/CoLA/{train,dev,test}.tsv
//	<dataDir>/SST-2/{train,dev}.tsv
//	...
//
// Test splits are unlabelled; they are read for prediction, keeping each
// row's GLUE index as Example.ID. Plain lines of text (one text, or two
// tab-separated texts of a pair, per line: what petl predict reads) are
// read by ReadLines, which cuts lines and reports malformed ones as the TSV
// readers do.
package task
