#!/bin/sh
# Prints the kernel variants this machine must test, as PETL_EXPECT_KERNELS
# wants them, read from /proc/cpuinfo (independently of the Go detection code
# that the tests check). Usage: expected-kernels.sh [amd64|arm64]
arch=${1:-$(go env GOARCH)}
case "$arch" in
arm64) echo generic,neon; exit 0 ;;
amd64) ;;
*) echo generic; exit 0 ;;
esac
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }
out=generic
if has avx2 && has fma; then out=$out,avx2; fi
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then out=$out,avx512; fi
echo $out
