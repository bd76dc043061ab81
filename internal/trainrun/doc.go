// Package trainrun is the plumbing that package train's fine-tuning runs
// and package pretrain's pretraining runs share: the errors that stop a
// run, the progress log with its rates and time estimates, and the
// comparison of the run that wrote a checkpoint with the run resuming it.
package trainrun
