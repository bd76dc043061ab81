#!/bin/sh
# BERT inference, petl against PyTorch on the same machine in one run, at sequence length 128,
# batch 1 and 8, for each thread count given (default: 1 2), BERT-base and BERT-tiny shapes.
#
#   sh benchmarks/compare-bert.sh            # threads 1 and 2, both sizes
#   sh benchmarks/compare-bert.sh 1          # 1 thread only
#   SIZES=tiny COUNT=5 sh benchmarks/compare-bert.sh 2
#
# PyTorch: ../shared/anchors/run.sh torch SIZE infer THREADS (median of 7 runs).
# petl:    BenchmarkBERTInfer in benchmarks/bert_test.go (median of COUNT runs, default 3), on
#          weights memory-mapped from a temporary checkpoint; it also prints resident memory.
# Prints seq/s for both and the ratio petl / PyTorch (targets: >= 1.2 for base, >= 2 for tiny).
# petl runs twice: out=all computes every token in every layer as the anchor does; out=cls
# computes only the [CLS] rows in the last layer (all the logits need; bert.State.CLSOnly).
set -e
cd "$(dirname "$0")/.."
shared=${PETL_SHARED:-../shared}
threads=${*:-1 2}
sizes=${SIZES:-base tiny}
count=${COUNT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for size in $sizes; do
  for th in $threads; do
    echo "== PyTorch $size, $th thread(s)" >&2
    sh "$shared/anchors/run.sh" torch "$size" infer "$th" | tee -a "$tmp/torch.txt" >&2
  done
  th_re=$(echo "$threads" | tr ' ' '|')
  echo "== petl $size" >&2
  go test -run '^$' -bench "BenchmarkBERTInfer/$size/batch=(1|8)/threads=($th_re)\$/out=(all|cls)\$" \
    -benchtime "${BENCHTIME:-2s}" -count "$count" ./benchmarks/ | tee -a "$tmp/petl.txt" >&2
done

# torch: "base infer  thr=1 batch=8: median     3.80 seq/s ..."
# petl:  "BenchmarkBERTInfer/base/batch=8/threads=1/out=all-2  N  ... 4.56 seq/s ..."
awk '
FNR == 1 { file++ }
file == 1 && / infer / && /median/ {
  split($3, t, "="); split($4, b, "="); sub(":", "", b[2])
  torch[$1 " " b[2] " " t[2]] = $6
}
file == 2 && /^BenchmarkBERTInfer\// {
  split($1, p, "/"); size = p[2]; split(p[3], b, "="); split(p[4], t, "="); split(p[5], o, "="); sub("-.*", "", o[2])
  for (i = 2; i < NF; i++) {
    if ($(i+1) == "seq/s") v = $i
    if ($(i+1) == "rss-anon-MiB") anon[size] = $i
    if ($(i+1) == "rss-file-MiB") filemib[size] = $i
    if ($(i+1) == "heap-MiB") heap[size] = $i
  }
  k = size " " b[2] " " t[2] " " o[2]; n[k]++; vals[k, n[k]] = v
}
function median(k,   i, j, m, x, a) {
  m = n[k]; for (i = 1; i <= m; i++) a[i] = vals[k, i]
  for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
  return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
  printf "%-5s %5s %7s %4s %12s %12s %8s\n", "size", "batch", "threads", "out", "torch seq/s", "petl seq/s", "ratio"
  for (k in n) keys[++nk] = k
  for (i = 1; i <= nk; i++) for (j = i + 1; j <= nk; j++) if (keys[j] < keys[i]) { x = keys[i]; keys[i] = keys[j]; keys[j] = x }
  for (i = 1; i <= nk; i++) {
    k = keys[i]; split(k, f, " "); pm = median(k); tk = f[1] " " f[2] " " f[3]
    r = (tk in torch && torch[tk] > 0) ? sprintf("%.2f", pm / torch[tk]) : "-"
    printf "%-5s %5s %7s %4s %12s %12.2f %8s\n", f[1], f[2], f[3], f[4], (tk in torch) ? torch[tk] : "-", pm, r
  }
  for (s in heap) printf "petl %s resident memory at the end: %s MiB file-backed (mapped weights), %s MiB anonymous, Go heap %s MiB\n", s, filemib[s], anon[s], heap[s]
}' "$tmp/torch.txt" "$tmp/petl.txt"
