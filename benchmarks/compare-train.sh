#!/bin/sh
# Training step (forward + backward + AdamW), petl against PyTorch on the same machine in one run:
# batch 8, sequence length 128, adapter size 64 (mode adapter) or every weight (mode full).
#
#   sh benchmarks/compare-train.sh                 # base and tiny, adapter and full, 1 and 2 threads
#   SIZES=tiny MODES=adapter sh benchmarks/compare-train.sh 1
#
# PyTorch: ../shared/anchors/run.sh torch SIZE MODE THREADS (median of 7 steps, peak RSS of the process).
# petl:    BenchmarkTrainStep in benchmarks/train_test.go, one process per size and mode (so that its
#          peak RSS is that mode's alone), median of COUNT runs (default 3) of BENCHTIME steps.
# PETL_TRAIN_DROPOUT=0 turns petl's dropout off, as the anchor has none (default 0.1, as training).
# Prints ms/step for both, the ratio petl / PyTorch (target <= 0.8) and the peak RSS of each
# (target in adapter mode: petl <= 0.6 x PyTorch).
set -e
cd "$(dirname "$0")/.."
shared=${PETL_SHARED:-../shared}
threads=${*:-1 2}
sizes=${SIZES:-base tiny}
modes=${MODES:-adapter full}
count=${COUNT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/bench.test" ./benchmarks/

for size in $sizes; do
  for mode in $modes; do
    for th in $threads; do
      echo "== PyTorch $size $mode, $th thread(s)" >&2
      sh "$shared/anchors/run.sh" torch "$size" "$mode" "$th" > "$tmp/t"
      cat "$tmp/t" >&2
      # "base adapter thr=1 batch=8 fwd+bwd+Adam: median   4400.0 ms ..." then "... peak RSS 1600 MiB"
      awk -v s="$size" -v m="$mode" -v t="$th" '/median/ { for (i = 1; i < NF; i++) if ($i == "median") ms = $(i+1) }
        /peak RSS/ { rss = $(NF-1) }
        END { print "torch", s, m, t, ms, rss }' "$tmp/t" >> "$tmp/all.txt"
    done
    th_re=$(echo "$threads" | tr ' ' '|')
    echo "== petl $size $mode" >&2
    (cd benchmarks && "$tmp/bench.test" -test.run '^$' -test.bench "BenchmarkTrainStep/$size/mode=$mode/threads=($th_re)\$" \
      -test.benchtime "${BENCHTIME:-5x}" -test.count "$count") | tee "$tmp/p" >&2
    awk '/^BenchmarkTrainStep\// {
        split($1, p, "/"); split(p[3], m, "="); split(p[4], t, "="); sub("-.*", "", t[2])
        for (i = 2; i < NF; i++) { if ($(i+1) == "ms/step") ms = $i; if ($(i+1) == "peak-rss-MiB") rss = $i }
        print "petl", p[2], m[2], t[2], ms, rss }' "$tmp/p" >> "$tmp/all.txt"
  done
done

awk '
function median(k,   i, j, m, x, a) {
  m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
  for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
  return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
{ k = $1 " " $2 " " $3 " " $4; n[k]++; v[k, n[k]] = $5; rss[k] = ($6 > rss[k]) ? $6 : rss[k]; keys[$2 " " $3 " " $4] = 1 }
END {
  printf "%-5s %-8s %7s %14s %14s %7s %16s %16s %7s\n", "size", "mode", "threads", "torch ms/step", "petl ms/step", "ratio", "torch peak MiB", "petl peak MiB", "ratio"
  for (k in keys) ks[++nk] = k
  for (i = 1; i <= nk; i++) for (j = i + 1; j <= nk; j++) if (ks[j] < ks[i]) { x = ks[i]; ks[i] = ks[j]; ks[j] = x }
  for (i = 1; i <= nk; i++) {
    k = ks[i]; split(k, f, " "); tk = "torch " k; pk = "petl " k
    tm = (tk in n) ? median(tk) : 0; pm = (pk in n) ? median(pk) : 0
    printf "%-5s %-8s %7s %14.1f %14.1f %7s %16.0f %16.0f %7s\n", f[1], f[2], f[3], tm, pm, (tm > 0) ? sprintf("%.2f", pm / tm) : "-",
      rss[tk], rss[pk], (rss[tk] > 0) ? sprintf("%.2f", rss[pk] / rss[tk]) : "-"
  }
}' "$tmp/all.txt"
