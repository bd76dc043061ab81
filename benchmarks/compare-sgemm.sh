#!/bin/sh
# SGEMM, petl against OpenBLAS on the same machine in one run: the shapes of
# ../shared/anchors/sgemm_openblas.c (squares 128..2048 and BERT-base products
# with 1024 tokens), THREADS threads (default 1), ROUNDS rounds (default 3)
# that each run OpenBLAS and then petl, so both see the same machine load.
#
#   sh benchmarks/compare-sgemm.sh 1        # or: make bench-compare THREADS=1
#   ROUNDS=5 sh benchmarks/compare-sgemm.sh 2
#
# OpenBLAS: ../shared/anchors/run.sh sgemm THREADS (median of 7 runs per shape).
# petl:     BenchmarkSgemm/<shape>/<active variant>/threads=THREADS in
#           benchmarks/sgemm_test.go (one 1s run per shape per round).
# Prints per shape the median GFLOP/s over the rounds and petl / OpenBLAS.
set -e
cd "$(dirname "$0")/.."
threads=${1:-1}
rounds=${ROUNDS:-3}
shared=${PETL_SHARED:-../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

variant=$(go run ./cmd/petl cpu -check=false -bench=false | awk '$1 == "active:" { print $2 }')
go test -c -o "$tmp/bench.test" ./benchmarks
echo "== petl variant $variant, $threads thread(s), $rounds rounds" >&2
r=1
while [ "$r" -le "$rounds" ]; do
  echo "== round $r: OpenBLAS" >&2
  sh "$shared/anchors/run.sh" sgemm "$threads" | tee -a "$tmp/openblas.txt" >&2
  echo "== round $r: petl" >&2
  (cd benchmarks && "$tmp/bench.test" -test.run '^$' -test.bench "BenchmarkSgemm/.*/$variant/threads=$threads\$" \
    -test.benchtime "${BENCHTIME:-1s}" -test.count 1) | tee -a "$tmp/petl.txt" >&2
  r=$((r + 1))
done

# OpenBLAS: "qkvo 1024x768*768x768   M=1024 N= 768 K= 768  median    69.3  min ..." (bwd shapes:
#           "bwd dX=dY*W^T ..." and "bwd dW=X^T*dY ...")
# petl:     "BenchmarkSgemm/qkvo/avx2/threads=1-2   18   69194579 ns/op   17.46 GFLOP/s"
awk '
function median(list,    n, v, i, j, t) {
  n = split(list, v, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
FNR == 1 { file++ }
file == 1 && /median/ {
  name = $1
  if (name == "bwd") { name = substr($2, 1, 2) }
  for (i = 1; i <= NF; i++) if ($i == "median") ob[name] = ob[name] " " $(i + 1)
  if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
file == 2 && /^BenchmarkSgemm\// {
  split($1, p, "/")
  for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") pe[p[2]] = pe[p[2]] " " $(i - 1)
}
END {
  printf "%-8s %10s %10s %8s\n", "shape", "OpenBLAS", "petl", "ratio"
  for (i = 1; i <= n; i++) {
    s = order[i]
    if (!(s in pe)) continue
    o = median(ob[s]); q = median(pe[s])
    printf "%-8s %10.1f %10.1f %8.2f\n", s, o, q, q / o
  }
}' "$tmp/openblas.txt" "$tmp/petl.txt"
