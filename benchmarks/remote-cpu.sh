#!/bin/bash
# Tests and BERT inference on another x86-64 machine that has no Go (for example a server with
# AVX-512), from binaries built here:
#
#   bash benchmarks/remote-cpu.sh build DIR   # here: test binaries, petl and the PyTorch anchor into DIR
#   (copy the repository with DIR inside it to the other machine)
#   bash DIR/remote-cpu.sh run [OUT]          # there, from the repository root: logs into OUT
#
# run prints the CPU, runs the kernels, nn, bert and adapter tests with every variant the CPU
# has required (PETL_EXPECT_KERNELS; a variant the CPU lacks fails), then BERT inference, petl
# with the best variant and with AVX2, and the machine's own PyTorch (python3 with torch), both
# pinned to two cores when taskset exists and the machine has at least four. BENCH_VARIANTS
# (for example "avx512") limits the petl benchmarks to those variants. Tests that need ../shared (tokenizer goldens) skip.
set -u
mode=${1:-}
case "$mode" in
build)
  dir=${2:?usage: remote-cpu.sh build DIR}
  cd "$(dirname "$0")/.."
  mkdir -p "$dir"
  for p in kernels nn bert adapter benchmarks; do
    GOOS=linux GOARCH=amd64 go test -c -ldflags "-s -w" -o "$dir/$p.test" ./$p || exit 1
  done
  GOOS=linux GOARCH=amd64 go build -ldflags "-s -w" -o "$dir/petl" ./cmd/petl || exit 1
  cp "${PETL_SHARED:-../shared}/anchors/bert_torch.py" "$dir/" || exit 1
  cp "$0" "$dir/remote-cpu.sh"
  du -sh "$dir"
  ;;
run)
  dir=$(cd "$(dirname "$0")" && pwd)
  out=${2:-/tmp/petl-remote}
  mkdir -p "$out"
  exec > >(tee "$out/log.txt") 2>&1
  date
  lscpu | grep -E 'Model name|Core|Socket|L1d|L2|L3'
  "$dir/petl" cpu
  variants=generic,avx2
  grep -q avx512f /proc/cpuinfo && grep -q avx512bw /proc/cpuinfo && grep -q avx512dq /proc/cpuinfo &&
    grep -q avx512vl /proc/cpuinfo && variants=$variants,avx512
  pin=""
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 4 ]; then
    pin="taskset -c 2,3" # two cores, away from core 0's interrupts
  fi
  echo "variants: $variants; pinned: ${pin:-no}"
  for p in kernels nn bert adapter; do
    (cd $p && PETL_EXPECT_KERNELS=$variants "$dir/$p.test" -test.count=1 -test.v >"$out/test-$p.txt" 2>&1)
    echo "$p: exit $?, $(grep -c -- '--- FAIL' "$out/test-$p.txt") failed, $(grep -c -- '--- SKIP' "$out/test-$p.txt") skipped"
    grep -E -- '--- FAIL|^panic' "$out/test-$p.txt" | head -20
  done
  for th in 1 2; do
    for size in tiny base; do
      OMP_NUM_THREADS=$th MKL_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th OMP_WAIT_POLICY=PASSIVE \
        $pin python3 "$dir/bert_torch.py" $size infer $th 7 2>&1 | grep infer
    done
  done
  for v in ${BENCH_VARIANTS:-$(echo "$variants" | tr , ' ' | sed 's/generic//')}; do
    echo "== petl $v"
    (cd benchmarks && PETL_KERNELS=$v $pin "$dir/benchmarks.test" -test.run '^$' \
      -test.bench 'BenchmarkBERTInfer/(tiny|base)/batch=(1|8)/threads=(1|2)$/out=(all|cls)$/adapters=64$' \
      -test.benchtime 1s 2>&1 | grep -E '^Benchmark|FAIL|panic')
  done
  date
  ;;
*)
  sed -n '2,12p' "$0"
  exit 2
  ;;
esac
