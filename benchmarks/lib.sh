# Sourced by the benchmarks/*.sh comparison scripts, from the repository root:
# a temporary folder ($tmp, removed at exit unless KEEP is set), the
# benchmark binary built into it ($tmp/bench.test), the shared folder
# ($shared) and, in $median_awk, the awk function median(a, m) (the median
# of a[1..m]; it sorts a) for the scripts' awk programs to start with.
shared=$(cd "${PETL_SHARED:-../shared}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${KEEP:-}" ]; then
  trap - EXIT
  echo "keeping $tmp" >&2
fi
go test -c -o "$tmp/bench.test" ./benchmarks/
median_awk='
function median(a, m,   i, j, y) {
  for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { y = a[i]; a[i] = a[j]; a[j] = y }
  return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}'
