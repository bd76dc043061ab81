#!/bin/sh
# int8-accuracy.sh: the GLUE dev metric of adapters trained on the shipped
# base, evaluated with the base in fp32 and in int8 (--precision), side by
# side. The SST-2 and MRPC adapters are the shipped ones; CoLA, STS-B and
# RTE adapters are trained into DIR first with the sweep's adapter recipe
# (size 64, lr 1e-3, 10 epochs, seed 1; about a quarter of an hour on 2
# cores) unless DIR holds them already.
#
#   sh benchmarks/int8-accuracy.sh [DIR]    (default /tmp/petl-int8-adapters)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/petl-int8-adapters}
data=${PETL_DATA:-$root/../shared/data/glue}
mkdir -p "$dir"
petl="$dir/petl"
(cd "$root" && go build -o "$petl" ./cmd/petl)
for t in cola stsb rte; do
  if [ ! -f "$dir/$t.json" ]; then
    "$petl" train --task "$t" --data "$data" --adapter-size 64 --lr 1e-3 --epochs 10 --seed 1 --out "$dir/$t" >&2
  fi
done
printf '| task | metric | fp32 | int8 | int8 - fp32 (points) |\n|---|---|---|---|---|\n'
for t in cola sst2 mrpc stsb rte; do
  a="$dir/$t"
  [ -f "$a.json" ] || a="$root/models/adapters/$t"
  f=$("$petl" eval --data "$data" --adapter "$a" --precision fp32 2>/dev/null | grep ' dev (')
  i=$("$petl" eval --data "$data" --adapter "$a" --precision int8 2>/dev/null | grep ' dev (')
  # "CoLA dev (1043 examples): mcc=0.1234 ..." -> the first metric
  echo "$f|$i" | awk -F'|' '{
    split($1, a, ": "); split(a[2], fa, " "); split(fa[1], fm, "=")
    split($2, b, ": "); split(b[2], ia, " "); split(ia[1], im, "=")
    split(a[1], n, " ")
    printf "| %s | %s | %.2f | %.2f | %+.2f |\n", n[1], fm[1], 100*fm[2], 100*im[2], 100*(im[2]-fm[2])
  }'
done
