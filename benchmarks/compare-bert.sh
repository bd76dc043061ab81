#!/bin/sh
# BERT inference, petl against PyTorch on the same machine in one run, at sequence length 128,
# batch 1 and 8, for each thread count given (default: 1 2), BERT-base and BERT-tiny shapes.
#
#   sh benchmarks/compare-bert.sh            # threads 1 and 2, both sizes
#   sh benchmarks/compare-bert.sh 1          # 1 thread only
#   SIZES=tiny COUNT=5 sh benchmarks/compare-bert.sh 2
#   ROUNDS=3 sh benchmarks/compare-bert.sh   # the whole comparison three times, interleaved
#   ADAPTERS=0 sh benchmarks/compare-bert.sh # petl without adapters (the anchor keeps its own)
#   PRECISION=int8 sh benchmarks/compare-bert.sh  # petl --precision int8 against PyTorch's
#                                            # quantize_dynamic (run.sh torch SIZE int8 THREADS)
#
# PyTorch: ../shared/anchors/run.sh torch SIZE infer THREADS (median of 7 runs).
# petl:    BenchmarkBERTInfer in benchmarks/bert_test.go (median of COUNT runs, default 3), on
#          weights memory-mapped from a temporary checkpoint; it also prints resident memory.
# Prints seq/s for both and the ratio petl / PyTorch (targets: >= 1.2 for base, >= 2 for tiny).
# With ROUNDS > 1 (default 1) the measurements alternate (PyTorch, petl, PyTorch, petl, ...), so
# that a slow spell of a shared machine hits both; the table then gives the medians over rounds
# of each side and of the per-round ratios, with the lowest and highest ratio.
# petl runs twice: out=all computes every token in every layer as the anchor does; out=cls
# computes only the [CLS] rows in the last layer (all the logits need; bert.State.CLSOnly).
# The anchor's model carries Houlsby adapters of bottleneck 64 (two per layer) in inference too,
# so petl runs with the same adapters (adapters=64); ADAPTERS=0 runs petl's plain BERT instead
# (less work than the anchor: an unequal comparison, for reference only).
set -e
cd "$(dirname "$0")/.."
threads=${*:-1 2}
sizes=${SIZES:-base tiny}
count=${COUNT:-3}
rounds=${ROUNDS:-1}
adapters=${ADAPTERS:-64}
precision=${PRECISION:-fp32}
case $precision in
  fp32) mode=infer ;;
  int8) mode=int8 ;;
  *) echo "PRECISION=$precision: want fp32 or int8" >&2; exit 2 ;;
esac
export PETL_BENCH_PRECISION=$precision
. benchmarks/lib.sh
r=1
while [ "$r" -le "$rounds" ]; do
  for size in $sizes; do
    for th in $threads; do
      echo "== round $r: PyTorch $size, $th thread(s)" >&2
      echo "round $r" >>"$tmp/torch.txt"
      sh "$shared/anchors/run.sh" torch "$size" "$mode" "$th" | tee -a "$tmp/torch.txt" >&2
    done
    th_re=$(echo "$threads" | tr ' ' '|')
    echo "== round $r: petl $size" >&2
    echo "round $r" >>"$tmp/petl.txt"
    (cd benchmarks && "$tmp/bench.test" -test.run '^$' -test.bench "BenchmarkBERTInfer/$size/batch=(1|8)/threads=($th_re)\$/out=(all|cls)\$/adapters=$adapters\$" \
      -test.benchtime "${BENCHTIME:-2s}" -test.count "$count") | tee -a "$tmp/petl.txt" >&2
  done
  r=$((r + 1))
done

# torch: "base infer  thr=1 batch=8: median     3.80 seq/s ..."
# petl:  "BenchmarkBERTInfer/base/batch=8/threads=1/out=all/adapters=64-2  N  ... 4.56 seq/s ..."
awk "$median_awk"'
FNR == 1 { file++ }
/^round / { round = $2; if (round > nr) nr = round; next }
file == 1 && $2 == mode && /median/ {
  split($3, t, "="); split($4, b, "="); sub(":", "", b[2])
  torch[$1 " " b[2] " " t[2], round] = $6
}
file == 2 && /^BenchmarkBERTInfer\// {
  split($1, p, "/"); size = p[2]; split(p[3], b, "="); split(p[4], t, "="); split(p[5], o, "="); sub("-.*", "", o[2])
  for (i = 2; i < NF; i++) {
    if ($(i+1) == "seq/s") v = $i
    if ($(i+1) == "rss-anon-MiB") anon[size] = $i
    if ($(i+1) == "rss-file-MiB") filemib[size] = $i
    if ($(i+1) == "heap-MiB") heap[size] = $i
  }
  k = size " " b[2] " " t[2] " " o[2]; seen[k] = 1
  n[k, round]++; vals[k, round, n[k, round]] = v
}
END {
  printf "petl with adapters of bottleneck %s (the anchor: 64); precision %s (PyTorch: run.sh torch SIZE %s)\n", ad, mode == "int8" ? "int8" : "fp32", mode
  printf "%-5s %5s %7s %4s %12s %12s %8s %12s\n", "size", "batch", "threads", "out", "torch seq/s", "petl seq/s", "ratio", "ratio range"
  for (k in seen) keys[++nk] = k
  for (i = 1; i <= nk; i++) for (j = i + 1; j <= nk; j++) if (keys[j] < keys[i]) { x = keys[i]; keys[i] = keys[j]; keys[j] = x }
  for (i = 1; i <= nk; i++) {
    k = keys[i]; split(k, f, " "); tk = f[1] " " f[2] " " f[3]
    np = 0; nt = 0; nq = 0; lo = ""; hi = ""
    delete P; delete T; delete Q
    for (r = 1; r <= nr; r++) {
      if (!((k, r) in n)) continue
      delete V; for (c = 1; c <= n[k, r]; c++) V[c] = vals[k, r, c]
      pm = median(V, n[k, r]); P[++np] = pm
      if ((tk, r) in torch && torch[tk, r] > 0) {
        T[++nt] = torch[tk, r]; q = pm / torch[tk, r]; Q[++nq] = q
        if (lo == "" || q < lo) lo = q
        if (hi == "" || q > hi) hi = q
      }
    }
    pmed = median(P, np)
    tmed = nt ? sprintf("%.2f", median(T, nt)) : "-"
    rmed = nq ? sprintf("%.2f", median(Q, nq)) : "-"
    rng = nq > 1 ? sprintf("%.2f-%.2f", lo, hi) : ""
    printf "%-5s %5s %7s %4s %12s %12.2f %8s %12s\n", f[1], f[2], f[3], f[4], tmed, pmed, rmed, rng
  }
  for (s in heap) printf "petl %s resident memory at the end: %s MiB file-backed (mapped weights), %s MiB anonymous, Go heap %s MiB\n", s, filemib[s], anon[s], heap[s]
}' ad="$adapters" mode="$mode" "$tmp/torch.txt" "$tmp/petl.txt"
