#!/bin/sh
# BERT inference with the dense weights packed into a mapped file (as petl eval and predict run),
# packed on the heap, and not packed (packed again in every product), alternating so that a slow
# spell of a shared machine hits all three; prints the median seq/s of each over the rounds.
#
#   sh benchmarks/ab-pack.sh                     # base, batch 1, 1 thread, 5 rounds
#   ROUNDS=3 BENCH='tiny/batch=(1|8)/threads=1/out=all/adapters=0' sh benchmarks/ab-pack.sh
set -e
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
bench=${BENCH:-'base/batch=1/threads=1/out=(all|cls)/adapters=64'}
. benchmarks/lib.sh
r=1
while [ "$r" -le "$rounds" ]; do
  for mode in 1 heap 0; do
    echo "== round $r, PETL_BENCH_PACK=$mode" >&2
    (cd benchmarks && PETL_BENCH_PACK=$mode "$tmp/bench.test" -test.run '^$' -test.bench "BenchmarkBERTInfer/$bench\$" \
      -test.benchtime "${BENCHTIME:-3s}") | tee "$tmp/round.txt" >&2
    awk -v m="$mode" '/^BenchmarkBERTInfer/ { for (i = 2; i < NF; i++) if ($(i+1) == "seq/s") print m, $1, $i }' \
      "$tmp/round.txt" >>"$tmp/seq.txt"
  done
  r=$((r + 1))
done
awk "$median_awk"'
{ k = $2; seen[k] = 1; n[k, $1]++; v[k, $1, n[k, $1]] = $3 }
END {
  printf "%-55s %10s %10s %10s %8s %8s\n", "benchmark (median seq/s)", "file", "heap", "unpacked", "file/un", "heap/un"
  for (k in seen) {
    for (mi = 1; mi <= 3; mi++) {
      mode = (mi == 1) ? "1" : (mi == 2) ? "heap" : "0"
      delete a; for (c = 1; c <= n[k, mode]; c++) a[c] = v[k, mode, c]
      med[mi] = n[k, mode] ? median(a, n[k, mode]) : 0
    }
    printf "%-55s %10.3f %10.3f %10.3f %8.2f %8.2f\n", k, med[1], med[2], med[3], med[3] ? med[1] / med[3] : 0, med[3] ? med[2] / med[3] : 0
  }
}' "$tmp/seq.txt"
