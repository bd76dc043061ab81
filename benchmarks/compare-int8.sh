#!/bin/sh
# BERT inference in int8 and fp32, petl against PyTorch on the same machine in one run: sequence
# length 128, batch 1 and 8, the threads given (default: 1 2), BERT-base and BERT-tiny shapes,
# with Houlsby adapters of bottleneck 64 in every layer (as the anchor's model carries them).
#
#   sh benchmarks/compare-int8.sh                 # threads 1 and 2, both sizes, 3 rounds
#   SIZES=tiny ROUNDS=1 sh benchmarks/compare-int8.sh 1
#
# PyTorch: ../shared/anchors/run.sh torch SIZE infer THREADS (fp32) and torch SIZE int8 THREADS
#          (torch.quantization.quantize_dynamic), median of 7 runs each.
# petl:    BenchmarkBERTInfer (benchmarks/bert_test.go, out=all: every token in every layer, as the
#          anchor), fp32 with packed weights and int8 (PETL_BENCH_PRECISION=int8), median of COUNT
#          runs (default 3).
# Every round runs the four in turn (PyTorch fp32, PyTorch int8, petl fp32, petl int8), so that a
# slow spell of a shared machine hits all of them; the table gives the medians over rounds and,
# for the two ratios that matter (petl int8 / PyTorch int8, petl int8 / petl fp32), the median
# and the range of the per-round ratios. It ends with petl's resident memory in each precision.
set -e
cd "$(dirname "$0")/.."
threads=${*:-1 2}
sizes=${SIZES:-base tiny}
count=${COUNT:-3}
rounds=${ROUNDS:-3}
. benchmarks/lib.sh
grep -m1 "model name" /proc/cpuinfo >&2
th_re=$(echo "$threads" | tr ' ' '|')
r=1
while [ "$r" -le "$rounds" ]; do
  for size in $sizes; do
    for mode in infer int8; do
      for th in $threads; do
        echo "== round $r: PyTorch $size $mode, $th thread(s)" >&2
        echo "round $r" >>"$tmp/torch.txt"
        sh "$shared/anchors/run.sh" torch "$size" "$mode" "$th" | tee -a "$tmp/torch.txt" >&2
      done
    done
    for precision in fp32 int8; do
      echo "== round $r: petl $size $precision" >&2
      echo "round $r $precision" >>"$tmp/petl.txt"
      (cd benchmarks && PETL_BENCH_PRECISION=$precision "$tmp/bench.test" -test.run '^$' \
        -test.bench "BenchmarkBERTInfer/$size/batch=(1|8)/threads=($th_re)\$/out=all\$/adapters=64\$" \
        -test.benchtime "${BENCHTIME:-2s}" -test.count "$count") | tee -a "$tmp/petl.txt" >&2
    done
  done
  r=$((r + 1))
done

# torch: "base int8   thr=1 batch=8: median     4.70 seq/s ..." (mode infer or int8)
# petl:  "BenchmarkBERTInfer/base/batch=8/threads=1/out=all/adapters=64-2  N  ... 4.56 seq/s ..."
awk "$median_awk"'
FNR == 1 { file++ }
/^round / { round = $2; if (file == 2) prec = $3; if (round > nr) nr = round; next }
file == 1 && /median/ {
  split($3, t, "="); split($4, b, "="); sub(":", "", b[2])
  p = ($2 == "int8") ? "int8" : "fp32"
  torch[p " " $1 " " b[2] " " t[2], round] = $6
  keys[$1 " " b[2] " " t[2]] = 1
}
file == 2 && /^BenchmarkBERTInfer\// {
  split($1, q, "/"); size = q[2]; split(q[3], b, "="); split(q[4], t, "=")
  for (i = 2; i < NF; i++) {
    if ($(i+1) == "seq/s") v = $i
    if ($(i+1) == "rss-anon-MiB") anon[prec " " size] = $i
    if ($(i+1) == "rss-file-MiB") filemib[prec " " size] = $i
    if ($(i+1) == "heap-MiB") heap[prec " " size] = $i
  }
  k = prec " " size " " b[2] " " t[2]
  n[k, round]++; vals[k, round, n[k, round]] = v
}
# the petl median of round r for key k ("" when absent)
function petl(k, r,   c) {
  if (!((k, r) in n)) return ""
  delete V; for (c = 1; c <= n[k, r]; c++) V[c] = vals[k, r, c]
  return median(V, n[k, r])
}
# "median (lo-hi)" of the per-round ratios num/den over rounds
function ratio(numk, denk, numtorch, dentorch,   r, m, a, b, lo, hi) {
  m = 0; delete R
  for (r = 1; r <= nr; r++) {
    a = numtorch ? torch[numk, r] : petl(numk, r)
    b = dentorch ? torch[denk, r] : petl(denk, r)
    if (a == "" || b == "" || b + 0 == 0) continue
    R[++m] = a / b
    if (lo == "" || a / b < lo) lo = a / b
    if (hi == "" || a / b > hi) hi = a / b
  }
  if (!m) return "-"
  return sprintf("%.2f", median(R, m)) (m > 1 ? sprintf(" (%.2f-%.2f)", lo, hi) : "")
}
function med(k, istorch,   r, m) {
  m = 0; delete M
  for (r = 1; r <= nr; r++) {
    v = istorch ? torch[k, r] : petl(k, r)
    if (v != "") M[++m] = v
  }
  return m ? sprintf("%.2f", median(M, m)) : "-"
}
END {
  printf "| size | batch | threads | PyTorch fp32 | PyTorch int8 | petl fp32 | petl int8 | petl int8 / PyTorch int8 | petl int8 / petl fp32 |\n"
  printf "|---|---|---|---|---|---|---|---|---|\n"
  for (k in keys) ks[++nk] = k
  for (i = 1; i <= nk; i++) for (j = i + 1; j <= nk; j++) if (ks[j] < ks[i]) { x = ks[i]; ks[i] = ks[j]; ks[j] = x }
  for (i = 1; i <= nk; i++) {
    k = ks[i]; split(k, f, " ")
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], med("fp32 " k, 1), med("int8 " k, 1),
      med("fp32 " k, 0), med("int8 " k, 0), ratio("int8 " k, "int8 " k, 0, 1), ratio("int8 " k, "fp32 " k, 0, 0)
  }
  for (s in heap) printf "petl %s resident memory at the end: %s MiB file-backed (mapped weights), %s MiB anonymous, Go heap %s MiB\n", s, filemib[s], anon[s], heap[s]
}' "$tmp/torch.txt" "$tmp/petl.txt"
