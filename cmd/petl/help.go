package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

func init() {
	commands["help"] = command{"print help for petl or for one command", runHelp}
}

// helpOut receives help that was asked for (petl help, -h, --help); tests
// replace it.
var helpOut io.Writer = os.Stdout

// doc is a command's help beyond its flags.
type doc struct {
	usage    string   // the usage line after "Usage: "
	text     string   // what the command does (paragraphs separated by blank lines)
	examples []string // command lines, each optionally preceded by a "# comment" line
}

// docs holds each command's help. A command added in another file adds
// its entry there, in its init (TestEveryCommandHasHelp checks).
var docs = map[string]doc{
	"train": {
		usage: "petl train --task TASK --out FILE [flags]",
		text: `Train trains a task on a frozen BERT base: Houlsby bottleneck adapters by default
(--adapter-size), or full fine-tuning (--full), the top K layers (--top-layers K), or
the layer norms and the head (--ln-head). It reads DIR/<Task>/train.tsv and dev.tsv
(GLUE's layout; --task tsv reads DIR/train.tsv and DIR/dev.tsv), evaluates on dev
after each epoch and writes the best weights as an adapter: FILE.safetensors and
FILE.json.

It also writes FILE.metrics.jsonl, one JSON line per evaluation (step, epoch, loss,
lr, dev, best, examples_per_sec, elapsed_sec), and while it runs a checkpoint,
FILE.ckpt.safetensors, from which --resume continues an interrupted run (Ctrl-C
writes it) to exactly the result of an uninterrupted one; a finished run removes it
unless --keep-checkpoint. --patience N stops after N evaluations without a better
dev score.

Before any work, train checks what it will write: an --out, --metrics or --checkpoint
that names a file it reads (the model's, the vocabulary, the data) or an existing file
that is not petl's of that kind is refused, and a second run writing the same --out is
refused while the first holds it. Ctrl-C (SIGINT or SIGTERM) stops after the current
step and writes the checkpoint; a second one quits at once.

Progress goes to standard error: the share of [UNK] wordpieces in the data (with a
warning above 1%, usually a casing mistake), a line every 10 seconds with the rate
and the time left, a line per epoch and a summary. The result goes to standard
output.`,
		examples: []string{
			"# an SST-2 adapter of size 64 on the shipped BERT-tiny (the default base)",
			"petl train --task sst2 --data ../shared/data/glue --adapter-size 64 --lr 2e-3 --epochs 3 --out out/sst2",
			"# full fine-tuning of a Hugging Face checkpoint, stopping when dev stops improving",
			"petl train --model DIR --task rte --full --lr 2e-5 --epochs 20 --patience 3 --out out/rte-full",
		},
	},
	"eval": {
		usage: "petl eval --adapter FILE [flags]",
		text: `Eval scores an adapter on a labelled split of its task (dev unless --split) and
prints the task's metrics. The base model is --model, else the one the adapter
records; text is cased as in training. It prints the share of [UNK] wordpieces in the
split, with a warning above 1%.`,
		examples: []string{
			"petl eval --adapter out/sst2 --data ../shared/data/glue",
			"petl eval --model DIR --adapter out/rte-full --split train",
		},
	},
	"predict": {
		usage: "petl predict --adapter FILE [--input FILE] [flags]",
		text: `Predict runs an adapter over new text: lines from standard input (one text per
line, or two tab-separated texts for a pair task) or a TSV file in the task's
layout, such as a GLUE test.tsv (--lines reads a file as plain lines). It writes the
GLUE submission layout (index<TAB>prediction; --probs adds one probability column per
class), or with --format jsonl one JSON object per input with the label, its score,
every class's probability (the value, for a regression task), the wordpieces read and
whether the input was truncated. Without --model the adapter goes onto the base it
records (its folder, or the shipped model when the fingerprint is the shipped one's).

An --out that is the input, a file of the model or the adapter, or an existing file
that is not a predictions file is refused before the input is read. A named pipe as
--input is refused: give a stream on standard input.`,
		examples: []string{
			`echo "a gripping, funny film" | petl predict --adapter out/sst2`,
			"petl predict --adapter out/sst2 --input ../shared/data/glue/SST-2/test.tsv --format jsonl --out sst2.jsonl",
			"petl predict --adapter models/adapters/mrpc --input pairs.txt --lines --probs",
		},
	},
	"sweep": {
		usage: "petl sweep [flags]  |  petl sweep --out DIR --run I  |  petl sweep --out DIR --collect",
		text: `Sweep runs the experiment of Houlsby et al. (2019): every GLUE task of --tasks under
every method of --methods (full fine-tuning, adapters of size 8, 64 and 256, the top
layers, layer norms and head, and baselines on a randomly initialised base) over a
small learning-rate grid. It picks each method's setting on dev and writes a table
like the paper's Table 1 (results.md) and figures (SVG) into --out. --out must be a
new or empty folder, or a sweep's.

A sweep is three steps, which the plain command does in one process: plan (the grid
and every setting, one numbered run per line, in DIR/runs/plan.json), run one (run I
writes its outcome atomically to DIR/runs/I.json; a finished run is skipped, a
stopped one resumes from its checkpoint DIR/runs/I.ckpt.safetensors) and collect
(results.jsonl, the tables and figures from whatever has finished, naming the runs
still missing). The plain command plans, runs --jobs runs at a time, then collects;
after an interruption, the same command continues. --plan only writes the plan;
--run I and --collect read everything from it, so any scheduler can run the steps.

--slurm writes the plan and a Slurm array job for it: DIR/slurm/array.sbatch (one
task per run, --slurm-parallel at a time, --slurm-cpus CPUs and --slurm-time each,
requeued when preempted), collect.sbatch (after the whole array) and submit.sh,
which submits both. DIR and the petl binary (--exec) must be at the same paths on
every node: put DIR on shared storage. --k8s-image and --k8s-claim write a
Kubernetes Indexed Job instead or as well (untested).`,
		examples: []string{
			"petl sweep --data ../shared/data/glue --out out/sweep",
			"# two tasks, two methods, three seeds",
			"petl sweep --tasks rte,mrpc --methods adapter-64,full --seeds 1,2,3 --out out/small",
			"# the same grid as a Slurm array job, 8 runs at a time; DIR on shared storage",
			"petl sweep --data /shared/glue --out /shared/sweep --slurm --slurm-parallel 8 --slurm-cpus 4 --slurm-time 2:00:00",
			"sh /shared/sweep/slurm/submit.sh",
			"# the steps by hand: plan, run 0 (anywhere DIR is seen), collect",
			"petl sweep --tasks rte --methods adapter-64 --out out/rte --plan",
			"petl sweep --out out/rte --run 0",
			"petl sweep --out out/rte --collect",
			"# only rewrite the table and figures from the results so far",
			"petl sweep --report --out out/sweep",
		},
	},
	"pretrain": {
		usage: "petl pretrain --out DIR [flags]",
		text: `Pretrain trains a BERT with masked language modelling, and with --sop also
sentence-order prediction, on a text corpus: one sentence or paragraph per line, a
blank line between documents (scripts/corpus/build.sh makes one). It starts from
random weights, or from a checkpoint's with --init, and writes Hugging Face
checkpoints to DIR/checkpoint-STEP every --eval-every steps; --resume continues an
interrupted run. --eval-only measures a checkpoint on the held-out text and trains
nothing.`,
		examples: []string{
			"sh scripts/corpus/build.sh   # writes ~/.cache/petl/corpus/corpus.txt",
			"petl pretrain --out out/pretrain --steps 10000",
			"# a second phase with sentence-order prediction",
			"petl pretrain --init out/pretrain/checkpoint-10000 --sop --two-segments 0.7 --steps 12000 --lr 5e-4 --warmup 0.05 --seed 2 --out out/phase2",
			"# held-out MLM loss and accuracy of the shipped model, on every held-out sequence",
			"petl pretrain --init models/petl-bert-tiny --eval-only --eval-seqs 100000 --seed 1",
		},
	},
	"inspect": {
		usage: "petl inspect --model DIR [flags]",
		text: `Inspect prints a BERT checkpoint's configuration, its parameter counts by part, its
data types and how its weights are held in memory, then verifies that every tensor
the configuration implies is present with the right shape (exit status 1 if not).`,
		examples: []string{
			"petl inspect --model models/petl-bert-tiny",
		},
	},
	"rebase": {
		usage: "petl rebase --adapter FILE [--model DIR] [--vocab FILE]",
		text: `Rebase updates an adapter written before a base's identity covered its vocabulary:
such a file records its base by the weights' fingerprint alone (base.fingerprint
"sha256:..."), and petl refuses to load it, since whether a base's vocab.txt is the
one the adapter was trained with cannot be told from the file.

If it is, rebase records the base's full fingerprint ("v2:sha256:...", over the
weights, the config and the vocabulary) in the adapter's configuration, through an
atomic replace under the adapter's lock; the weights file stays as it is. The base's
weights must be the ones the adapter records. Give the vocabulary the adapter was
trained with: a different one would shift every token id.`,
		examples: []string{
			"# an adapter trained on the shipped BERT-tiny with its own vocabulary",
			"petl rebase --adapter out/sst2",
			"petl rebase --adapter out/rte --model DIR --vocab DIR/vocab.txt",
		},
	},
	"cpu": {
		usage: "petl cpu [flags]",
		text: `Cpu prints the CPU features petl detected, the kernel variants it can run and the
one it chose ($PETL_KERNELS=generic|avx2|avx512|neon forces one), checks every
supported variant's SGEMM against the pure-Go reference and measures SGEMM on
BERT-base shapes.`,
		examples: []string{
			"petl cpu",
			"PETL_KERNELS=generic petl cpu --bench=false",
		},
	},
	"version": {
		usage: "petl version",
		text: `Version prints petl's module version and commit (from the build information the Go
toolchain records), the Go version, the platform, and the kernel variant chosen for
this CPU. petl --version does the same.`,
		examples: []string{"petl version"},
	},
	"help": {
		usage: "petl help [command]",
		text: `Help prints the list of commands, or one command's description, flags and
examples (as petl COMMAND -h does).`,
		examples: []string{"petl help train"},
	},
}

// runHelp is `petl help [command]`.
func runHelp(ctx context.Context, args []string) error {
	switch len(args) {
	case 0:
		usage(helpOut)
		return nil
	case 1:
	default:
		return badFlag("help takes one command name, not %q", args)
	}
	name := args[0]
	cmd, ok := commands[name]
	if !ok {
		return unknownCommand(name)
	}
	if name == "help" {
		printHelp(helpOut, name, nil)
		return nil
	}
	// Every command parses its flags first (parseFlags), printing its help
	// on -h and doing nothing else.
	return cmd.run(ctx, []string{"-h"})
}

// usage writes the list of commands.
func usage(w io.Writer) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("petl: parameter-efficient transfer learning with BERT (bottleneck adapters on a frozen base)\n\n")
	b.WriteString("Usage:\n\n  petl <command> [flags]\n\nCommands:\n\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun 'petl help <command>' or 'petl <command> -h' for a command's flags and examples,\n")
	b.WriteString("'petl --version' for the version.\n")
	fmt.Fprint(w, b.String())
}

// unknownCommand is the error for a command name petl does not have, with
// the closest name when there is one.
func unknownCommand(name string) error {
	hint := ""
	if s := suggest(name); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	return usageError{fmt.Errorf("unknown command %q%s", name, hint)}
}

// suggest returns the command name closest to name (at most two edits
// away, or of which name is a prefix), or "".
func suggest(name string) string {
	best, bestD := "", 3
	for n := range commands {
		d := editDistance(strings.ToLower(name), n)
		if strings.HasPrefix(n, strings.ToLower(name)) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// printHelp writes a command's help: usage line, description, flags with
// their defaults, examples. fs may be nil (a command without flags).
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	d, ok := docs[name]
	if !ok {
		d = doc{usage: "petl " + name + " [flags]", text: commands[name].summary}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n", d.usage)
	for _, para := range strings.Split(d.text, "\n\n") {
		b.WriteString(wrap(strings.Join(strings.Fields(para), " "), "", 88))
		b.WriteString("\n")
	}
	if fs != nil {
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			b.WriteString("Flags:\n\n")
			fs.VisitAll(func(f *flag.Flag) { writeFlag(&b, f) })
			b.WriteString("\n")
		}
	}
	if len(d.examples) > 0 {
		b.WriteString("Examples:\n\n")
		for _, e := range d.examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	fmt.Fprint(w, strings.TrimRight(b.String(), "\n")+"\n")
}

// writeFlag writes one flag: "  --name type" and its usage with the
// default, indented below.
func writeFlag(b *strings.Builder, f *flag.Flag) {
	typ, text := flag.UnquoteUsage(f)
	fmt.Fprintf(b, "  --%s", f.Name)
	if typ != "" {
		fmt.Fprintf(b, " %s", typ)
	}
	b.WriteString("\n")
	if def := flagDefault(f); def != "" {
		text += " (default " + def + ")"
	}
	b.WriteString(wrap(text, "        ", 88))
}

// flagDefault is a flag's default as it is written on a command line, or ""
// for the zero value (which the usage text explains when it matters).
func flagDefault(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false":
		return ""
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isFloat := g.Get().(float64); isFloat {
			if v, err := strconv.ParseFloat(f.DefValue, 64); err == nil {
				if v == 0 {
					return ""
				}
				return formatFloat(v)
			}
		}
	}
	if _, ok := f.Value.(flag.Getter); ok {
		if _, isString := f.Value.(flag.Getter).Get().(string); isString && strings.ContainsAny(f.DefValue, " \t") {
			return strconv.Quote(f.DefValue)
		}
	}
	return f.DefValue
}

// wrap breaks text into lines of at most width columns, each starting with
// indent, and ends it with a newline.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}
