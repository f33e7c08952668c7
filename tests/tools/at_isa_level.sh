#!/bin/sh
# Runs a test binary with MIXUP_CPU_ISA=LEVEL, or exits 77 (skipped, with the reason) when this
# CPU lacks that level or it is the CPU's best (the plain run of the suite covers that one).
#   at_isa_level.sh LEVEL TEST_BINARY [ARGS...]
level=$1
shift
flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has() {
  for f; do
    case $flags in *" $f "*) ;; *) return 1 ;; esac
  done
}
best=baseline
has avx2 fma bmi1 bmi2 f16c movbe && best=avx2
[ $best = avx2 ] && has avx512f avx512bw avx512cd avx512dq avx512vl && best=avx512
rank() { case $1 in baseline) echo 0 ;; avx2) echo 1 ;; avx512) echo 2 ;; *) echo 9 ;; esac; }
if [ "$(rank "$level")" -gt "$(rank $best)" ]; then
  echo "skipped: this CPU's best level is $best, below $level"
  exit 77
fi
if [ "$level" = $best ]; then
  echo "skipped: $level is this CPU's best level, which the plain run of the suite covers"
  exit 77
fi
MIXUP_CPU_ISA=$level exec "$@" --gtest_brief=1
