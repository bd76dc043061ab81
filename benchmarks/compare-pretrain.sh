#!/bin/sh
# Pretraining step, an older commit against the working tree in one run: BenchmarkPretrainStep
# (pretrain/bench_test.go: the shipped model's recipe, BERT-tiny over the bert-base-uncased
# vocabulary, batch 32 x 128, 15% masked, dropout on, AdamW) built from both, rounds
# alternating so that a slow spell of a shared machine hits both; prints the median tok/s of
# each, the range over the rounds and the ratio new / old.
#
# Both sides run this tree's pretrain/bench_test.go (the harness), so that PETL_BENCH_CORPUS
# (a corpus.txt: sequences of the real corpus instead of SST-2's sentences) works for both.
#
#   sh benchmarks/compare-pretrain.sh                 # OLD=681fd7c (before this speed work), 5 rounds
#   OLD=HEAD~3 ROUNDS=3 THREADS='1' sh benchmarks/compare-pretrain.sh
#   PETL_BENCH_CORPUS=~/.cache/petl/corpus/corpus.txt sh benchmarks/compare-pretrain.sh
set -e
cd "$(dirname "$0")/.."
old=${OLD:-681fd7c}
rounds=${ROUNDS:-5}
threads=${THREADS:-1 2}
benchtime=${BENCHTIME:-20x}
. benchmarks/lib.sh
git worktree add -q --detach "$tmp/old" "$old"
trap 'git worktree remove --force "$tmp/old"; rm -rf "$tmp"' EXIT
cp pretrain/bench_test.go "$tmp/old/pretrain/bench_test.go"
(cd "$tmp/old" && go test -c -o "$tmp/old.test" ./pretrain/)
go test -c -o "$tmp/new.test" ./pretrain/
th_re=$(echo "$threads" | tr ' ' '|')
r=1
while [ "$r" -le "$rounds" ]; do
  for side in old new; do
    echo "== round $r, $side" >&2
    # The benchmark finds ../shared from its package folder.
    (cd pretrain && "$tmp/$side.test" -test.run '^$' -test.bench "BenchmarkPretrainStep/threads=($th_re)\$" \
      -test.benchtime "$benchtime") | tee "$tmp/round.txt" >&2
    awk -v s="$side" '/^BenchmarkPretrainStep/ { for (i = 2; i < NF; i++) if ($(i+1) == "tok/s") print s, $1, $i }' \
      "$tmp/round.txt" >>"$tmp/tok.txt"
  done
  r=$((r + 1))
done
echo "old: $(git rev-parse --short "$old")  new: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' + working tree')"
awk "$median_awk"'
{ k = $2; seen[k] = 1; n[k, $1]++; v[k, $1, n[k, $1]] = $3 }
END {
  printf "%-40s %18s %18s %7s\n", "benchmark (median tok/s [range])", "old", "new", "new/old"
  for (k in seen) {
    for (si = 1; si <= 2; si++) {
      s = (si == 1) ? "old" : "new"
      delete a; m = n[k, s]
      for (c = 1; c <= m; c++) a[c] = v[k, s, c]
      med[si] = m ? median(a, m) : 0
      lo[si] = m ? a[1] : 0; hi[si] = m ? a[m] : 0 # median sorted a
    }
    printf "%-40s %6.0f [%4.0f-%4.0f] %6.0f [%4.0f-%4.0f] %7.2f\n", k, med[1], lo[1], hi[1], med[2], lo[2], hi[2], med[1] ? med[2] / med[1] : 0
  }
}' "$tmp/tok.txt"
