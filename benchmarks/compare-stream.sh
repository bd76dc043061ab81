#!/bin/sh
# Serving a mixed-task request stream, petl against PyTorch on the same machine in one run:
# the first LIMIT (default 512) requests of ../shared/anchors/requests-glue.tsv (six GLUE tasks
# interleaved), arrivals in windows of 32, one base with six tasks, each with its own Houlsby
# adapters (bottleneck 64) and head.
#
#   sh benchmarks/compare-stream.sh              # BERT-base and tiny, threads 1 and 2
#   SIZES=tiny ROUNDS=3 sh benchmarks/compare-stream.sh 1
#   PRECISION=int8 sh benchmarks/compare-stream.sh   # petl's int8 base against PyTorch's
#                                                    # quantize_dynamic (bert_torch.py SIZE stream-int8)
#
# PyTorch: ../shared/anchors/bert_torch.py SIZE stream THREADS (the anchor run.sh runs, with
#          run.sh's environment), one pass per round: in each window, one batch per task padded to
#          its longest, as an AdapterHub/PEFT user serves it.
# petl:    BenchmarkStream in benchmarks/stream_test.go, one pass per round in each mode:
#          mixed (each window one pass, unpadded, [CLS] rows only in the last layer: petl serve),
#          padded (the anchor's batches), padded-cls (the anchor's batches, [CLS] rows only).
# Rounds alternate (PyTorch, petl, PyTorch, ...) so that a slow spell of a shared machine hits
# both; the table gives medians over rounds and the range of the per-round ratios.
set -e
cd "$(dirname "$0")/.."
threads=${*:-1 2}
sizes=${SIZES:-base tiny}
rounds=${ROUNDS:-3}
limit=${LIMIT:-512}
precision=${PRECISION:-fp32}
case $precision in
  fp32) mode=stream ;;
  int8) mode=stream-int8 ;;
  *) echo "PRECISION=$precision: want fp32 or int8" >&2; exit 2 ;;
esac
export PETL_BENCH_PRECISION=$precision
. benchmarks/lib.sh
grep -m1 "model name" /proc/cpuinfo >&2
r=1
while [ "$r" -le "$rounds" ]; do
  for size in $sizes; do
    for th in $threads; do
      echo "== round $r: PyTorch $size, $th thread(s)" >&2
      echo "round $r" >>"$tmp/torch.txt"
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$th" OPENBLAS_NUM_THREADS="$th" \
        LIMIT="$limit" BATCH=32 /usr/bin/python3 "$shared/anchors/bert_torch.py" "$size" "$mode" "$th" 1 | tee -a "$tmp/torch.txt" >&2
      echo "== round $r: petl $size, $th thread(s)" >&2
      echo "round $r" >>"$tmp/petl.txt"
      (cd benchmarks && PETL_STREAM_LIMIT="$limit" "$tmp/bench.test" -test.run '^$' \
        -test.bench "BenchmarkStream/$size/threads=$th/" -test.benchtime 1x) | tee -a "$tmp/petl.txt" >&2
    done
  done
  r=$((r + 1))
done

# torch: "base stream      thr=1 window=32:     5.10 requests/s       233 tokens/s  (...)"
# petl:  "BenchmarkStream/base/threads=1/mode=mixed-2  1  7.9 requests/s  361 tokens/s"
awk "$median_awk"'
FNR == 1 { file++ }
/^round / { round = $2; if (round > nr) nr = round; next }
file == 1 && $2 == mode && /requests\/s/ {
  split($3, t, "="); torch[$1 " " t[2], round] = $5
}
file == 2 && /^BenchmarkStream\// {
  split($1, p, "/"); split(p[3], t, "="); split(p[4], md, "="); sub("-[0-9]+$", "", md[2])
  for (i = 2; i < NF; i++) if ($(i+1) == "requests/s") v = $i
  k = p[2] " " t[2] " " md[2]; seen[k] = 1; petl[k, round] = v
}
END {
  printf "PyTorch: %s; petl precision: %s\n", mode, (mode == "stream-int8" ? "int8" : "fp32")
  printf "%-5s %7s %-10s %14s %14s %8s %12s\n", "size", "threads", "petl mode", "torch req/s", "petl req/s", "ratio", "ratio range"
  for (k in seen) keys[++nk] = k
  for (i = 1; i <= nk; i++) for (j = i + 1; j <= nk; j++) if (keys[j] < keys[i]) { x = keys[i]; keys[i] = keys[j]; keys[j] = x }
  for (i = 1; i <= nk; i++) {
    k = keys[i]; split(k, f, " "); tk = f[1] " " f[2]
    np = 0; nt = 0; nq = 0; lo = ""; hi = ""
    delete P; delete T; delete Q
    for (r = 1; r <= nr; r++) {
      if (!((k, r) in petl)) continue
      P[++np] = petl[k, r]
      if ((tk, r) in torch && torch[tk, r] > 0) {
        T[++nt] = torch[tk, r]; q = petl[k, r] / torch[tk, r]; Q[++nq] = q
        if (lo == "" || q < lo) lo = q
        if (hi == "" || q > hi) hi = q
      }
    }
    printf "%-5s %7s %-10s %14s %14.2f %8s %12s\n", f[1], f[2], f[3], nt ? sprintf("%.2f", median(T, nt)) : "-", median(P, np), nq ? sprintf("%.2f", median(Q, nq)) : "-", (nq > 1 ? sprintf("%.2f-%.2f", lo, hi) : "")
  }
}' mode="$mode" "$tmp/torch.txt" "$tmp/petl.txt"
