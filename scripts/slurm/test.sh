#!/usr/bin/env bash
# The three-step sweep on a real one-node Slurm cluster (make test-slurm):
# a small sweep (random-tiny, two tasks, two methods, two learning rates)
# runs locally, then as a Slurm array job two tasks at a time, one task of
# which is requeued mid-run (it must resume from its checkpoint), then the
# collect job. petl's training is bitwise deterministic, so the collected
# table, every run's per-epoch scores and every dev metric must equal the
# local run's exactly.
#
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge
# (apt-get install --no-install-recommends slurmctld slurmd slurm-client
# munge). Without them it prints one line and passes, unless
# PETL_REQUIRE_SLURM=1 (.ci/run sets it). Everything it starts is stopped
# and everything it writes removed, also when it fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/slurm/cluster.sh

GO=${GO:-go}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
miss=$(slurm_missing)
if [ -n "$miss" ]; then
	if [ "${PETL_REQUIRE_SLURM:-}" = 1 ]; then
		echo "test-slurm: missing $miss and PETL_REQUIRE_SLURM=1: apt-get install --no-install-recommends slurmctld slurmd slurm-client munge, as root" >&2
		exit 1
	fi
	echo "test-slurm: SKIPPED the Slurm sweep test: missing $miss (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge, as root)"
	exit 0
fi
for f in "$SHARED/data/glue/RTE/dev.tsv" "$SHARED/data/glue/MRPC/dev.tsv" "$SHARED/data/vocab/bert-base-uncased-vocab.txt"; do
	[ -f "$f" ] || { echo "test-slurm: $f not found (set SHARED to the shared folder)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/petl-slurm.XXXXXX)
chmod 0755 "$T"
status=1
cleanup() {
	slurm_stop
	if [ "$status" != 0 ]; then
		echo "test-slurm: FAILED; the cluster's logs and the array's outputs:" >&2
		slurm_logs
		for f in "$T"/slurm-sweep/slurm/*.out; do
			[ -f "$f" ] && { echo "--- $f (last 20 lines)" >&2; tail -n 20 "$f" >&2; }
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() {
	echo "test-slurm: $*" >&2
	exit 1
}
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start)) s"; }

$GO build -o "$T/petl" ./cmd/petl || fail "go build failed"
# The sweep: 2 tasks x 2 methods x 2 learning rates = 8 runs of 4 epochs
# over 48 examples; a checkpoint every 2 steps, so that a run stopped at any
# point has one.
flags=(--model random-tiny --vocab "$SHARED/data/vocab/bert-base-uncased-vocab.txt" --data "$SHARED/data/glue"
	--tasks rte,mrpc --methods adapter-8,full --lr-adapter 1e-3,1e-2 --lr-full 1e-4,1e-3
	--epochs 4 --task-epochs "" --limit rte=48,mrpc=48 --batch 8 --max-len 64 --seed 3 --checkpoint-every 2)

echo "test-slurm: the sweep locally, 2 runs at a time ($(elapsed))"
"$T/petl" sweep "${flags[@]}" --jobs 2 --threads 1 --out "$T/local-sweep" >"$T/local.md" 2>"$T/local.log" ||
	{ cat "$T/local.log" >&2; fail "the local sweep failed"; }

echo "test-slurm: starting a one-node Slurm cluster ($(elapsed))"
slurm_start "$T/cluster" || fail "the cluster did not start"
sinfo -N -o "%N %c CPUs %t" | sed 's/^/test-slurm:   /'

out=$T/slurm-sweep
"$T/petl" sweep "${flags[@]}" --out "$out" --slurm --slurm-parallel 2 --slurm-cpus 1 --slurm-time 0:20:00 \
	--exec "$T/petl" --job-name petl-ci 2>"$T/plan.log" || { cat "$T/plan.log" >&2; fail "writing the Slurm job failed"; }
grep -q -- '--array=0-7%2' "$out/slurm/array.sbatch" || fail "array.sbatch lacks --array=0-7%2"
ids=$(sh "$out/slurm/submit.sh") || fail "submit.sh failed: $ids"
echo "test-slurm: submitted: $ids ($(elapsed))"
array=$(echo "$ids" | sed -n 's/^array job \([0-9]*\), collect job \([0-9]*\)$/\1/p')
collect=$(echo "$ids" | sed -n 's/^array job \([0-9]*\), collect job \([0-9]*\)$/\2/p')
[ -n "$array" ] && [ -n "$collect" ] || fail "no job ids in: $ids"

# Requeue array task 2 as soon as its run has a checkpoint (mid-run), and
# let it start again at once (a requeued job waits for a begin time).
victim=2
ckpt=$out/runs/0002.ckpt.safetensors
deadline=$(($(date +%s) + 300))
until [ -f "$ckpt" ]; do
	[ -f "$out/runs/0002.json" ] && fail "run 2 finished before it could be stopped"
	[ "$(date +%s)" -lt "$deadline" ] || fail "run 2 did not write a checkpoint within 300 s"
	sleep 0.05
done
scontrol requeue "${array}_${victim}" || fail "scontrol requeue ${array}_${victim} failed"
echo "test-slurm: requeued array task ${array}_${victim} mid-run ($(elapsed))"
[ -f "$out/runs/0002.json" ] && fail "run 2 finished before the requeue reached it"
for i in $(seq 1 100); do
	scontrol show job "${array}_${victim}" 2>/dev/null | grep -q 'JobState=PENDING' && break
	sleep 0.1
done
scontrol update JobId="${array}_${victim}" StartTime=now >/dev/null 2>&1 || true

# Wait for the collect job (it depends on the whole array).
deadline=$(($(date +%s) + 600))
while :; do
	state=$(scontrol show job "$collect" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
	case $state in
	COMPLETED) break ;;
	FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) fail "the collect job ended $state" ;;
	esac
	[ "$(date +%s)" -lt "$deadline" ] || fail "the collect job did not finish within 600 s (state ${state:-unknown})"
	sleep 1
done
echo "test-slurm: the collect job completed ($(elapsed))"

# Every array task completed; the requeued one restarted once and resumed.
for i in 0 1 2 3 4 5 6 7; do
	s=$(scontrol show job "${array}_$i" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
	[ "$s" = COMPLETED ] || fail "array task ${array}_$i is $s"
done
scontrol show job "${array}_${victim}" | grep -q 'Restarts=1' || fail "array task ${array}_${victim} was not restarted"
grep -q "resumed from $ckpt" "$out/slurm/run-$victim.out" || fail "run $victim did not resume from its checkpoint"
grep -q '"resumed":true' "$out/runs/0002.json" || fail "run 2's outcome does not say it resumed"
[ -f "$ckpt" ] && fail "run 2's checkpoint stayed behind"

# The same results as the local sweep, exactly: the table, each run's
# per-epoch dev scores (times aside), and every dev metric in full.
table() { sed '/^## Every run/,$d' "$1"; }
runs() { sed -n '/^## Every run/,$p' "$1" | sed 's/| [0-9]* s |$/|/'; }
metrics() { sed 's/.*\("task":"[^"]*","method":"[^"]*","lr":[^,]*\).*\("dev":\[[^]]*\]\).*/\1 \2/' "$1" | sort; }
diff <(table "$T/local-sweep/results.md") <(table "$out/results.md") || fail "the collected table differs from the local sweep's"
diff <(runs "$T/local-sweep/results.md") <(runs "$out/results.md") || fail "the runs' scores differ from the local sweep's"
diff <(metrics "$T/local-sweep/results.jsonl") <(metrics "$out/results.jsonl") || fail "the dev metrics differ from the local sweep's"
[ "$(wc -l <"$out/results.jsonl")" = 8 ] || fail "results.jsonl does not hold 8 runs"
table "$out/results.md" | grep '^|' | sed 's/^/test-slurm:   /'
status=0
echo "test-slurm: PASS: 8 runs as a Slurm array (2 at a time, task $victim requeued mid-run and resumed), collected table identical to the local sweep's ($(elapsed))"
