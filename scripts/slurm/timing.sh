#!/usr/bin/env bash
# Times one 12-run sweep three ways on this machine (docs/sweep.md, "On a
# cluster"): locally with --jobs 1, locally with --jobs 2, and as a Slurm
# array job two tasks at a time on a one-node cluster started for it (as
# scripts/slurm/test.sh starts one). Each way starts from an empty folder;
# the three collected tables must be equal. Needs what test.sh needs.
# Usage: scripts/slurm/timing.sh [extra petl sweep flags]
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/slurm/cluster.sh
GO=${GO:-go}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
miss=$(slurm_missing)
[ -z "$miss" ] || { echo "timing: missing $miss" >&2; exit 1; }
T=$(mktemp -d /tmp/petl-slurm-timing.XXXXXX)
chmod 0755 "$T"
trap 'slurm_stop; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
$GO build -o "$T/petl" ./cmd/petl || exit 1
# 3 tasks x 2 methods x 2 learning rates = 12 runs on the shipped BERT-tiny.
flags=(--data "$SHARED/data/glue" --tasks rte,mrpc,stsb --methods adapter-64,ln-head
	--epochs 2 --task-epochs "" --limit rte=800,mrpc=800,stsb=800 --batch 32 --max-len 128 --seed 1 "$@")
now() { date +%s.%N; }
report() { printf 'timing: %-28s %6.0f s   (load average before: %s)\n' "$1" "$2" "$3"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

for j in 1 2; do
	l=$(load)
	t0=$(now)
	"$T/petl" sweep "${flags[@]}" --jobs "$j" --threads 1 --out "$T/local$j" >/dev/null 2>"$T/local$j.log" || { cat "$T/local$j.log"; exit 1; }
	report "local, --jobs $j" "$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')" "$l"
done

slurm_start "$T/cluster" || exit 1
out=$T/slurm-sweep
"$T/petl" sweep "${flags[@]}" --out "$out" --slurm --slurm-parallel 2 --slurm-cpus 1 --slurm-time 1:00:00 --exec "$T/petl" 2>/dev/null || exit 1
l=$(load)
t0=$(now)
ids=$(sh "$out/slurm/submit.sh" | head -n 1)
collect=${ids##*collect job }
until scontrol show job "$collect" | grep -q 'JobState=COMPLETED'; do
	scontrol show job "$collect" | grep -qE 'JobState=(FAILED|CANCELLED|TIMEOUT)' && { echo "timing: collect failed"; exit 1; }
	sleep 0.5
done
report "Slurm array, 2 at a time" "$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')" "$l"
for j in 1 2; do
	diff <(sed '/^## Every run/,$d' "$T/local$j/results.md") <(sed '/^## Every run/,$d' "$out/results.md") >/dev/null ||
		{ echo "timing: the tables differ (local --jobs $j)"; exit 1; }
done
sed '/^## Every run/,$d' "$out/results.md" | grep '^|'
awk '{ s += $0 } END { printf "timing: the 12 runs sum to %.0f s of run time (Slurm)\n", s }' < <(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$out/results.jsonl")
