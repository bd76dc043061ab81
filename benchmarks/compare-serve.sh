#!/bin/sh
# petl serve end to end against PyTorch serving the same mixed-task stream in process, on the same
# machine in one run: the first N (default 256) requests of ../shared/anchors/requests-glue.tsv as
# text, sent over loopback HTTP by a closed-loop client (benchmarks/loadgen) at each concurrency of
# CONC, with the server's batching on and off, for each thread count given (default 1 2).
#
#   sh benchmarks/compare-serve.sh                 # BERT-base, threads 1 and 2
#   SIZE=tiny N=2048 CONC="1 32" sh benchmarks/compare-serve.sh 1
#
# The server: petl serve over a BERT checkpoint of random weights (benchmarks/servebase: the shape
# given by SIZE, the real bert-base-uncased vocabulary, one adapter of bottleneck 64 per task of the
# stream), so it tokenises every request itself. The anchor: ../shared/anchors/bert_torch.py SIZE
# stream THREADS on the same requests, pre-tokenised, without HTTP, windows of 32 padded per task
# (as run.sh runs it), once per thread count, before the server's runs.
# Goals (issue 16): at concurrency 32, petl's requests/s >= 1.2x the anchor's; batching on >= 2x off.
set -e
cd "$(dirname "$0")/.."
shared=$(cd "${PETL_SHARED:-../shared}" && pwd)
threads=${*:-1 2}
size=${SIZE:-base}
n=${N:-256}
conc=${CONC:-1 8 32 64}
dur=${D:-90s}
port=${PORT:-18080}
tmp=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

go build -o "$tmp/petl" ./cmd/petl
go build -o "$tmp/loadgen" ./benchmarks/loadgen
go run ./benchmarks/servebase -size "$size" -vocab "$shared/data/vocab/bert-base-uncased-vocab.txt" -out "$tmp/base"
grep -m1 "model name" /proc/cpuinfo
for th in $threads; do
  echo "== PyTorch $size stream, $th thread(s), $n requests (in process, pre-tokenised)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$th" OPENBLAS_NUM_THREADS="$th" \
    LIMIT="$n" BATCH=32 /usr/bin/python3 "$shared/anchors/bert_torch.py" "$size" stream "$th" 1
  for batching in on off; do
    flags=
    [ "$batching" = off ] && flags=--no-batching
    "$tmp/petl" serve --model "$tmp/base" --adapters "$tmp/base/adapters" --threads "$th" --pack "$tmp/packed.safetensors" \
      --addr "127.0.0.1:$port" $flags >"$tmp/serve.log" 2>&1 &
    server=$!
    i=0
    until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
      i=$((i + 1)); [ "$i" -gt 600 ] && { cat "$tmp/serve.log"; exit 1; }; sleep 0.1
    done
    for c in $conc; do
      "$tmp/loadgen" -url "http://127.0.0.1:$port" -requests "$shared/anchors/requests-glue.tsv" -c "$c" -n "$n" -d "$dur" \
        -warmup 32 -label "petl $size threads=$th batching=$batching "
    done
    kill -TERM "$server"; wait "$server" || true; server=
  done
done
