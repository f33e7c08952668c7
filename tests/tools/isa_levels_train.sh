#!/bin/sh
# The trainer gives the same bits at every CPU instruction-set level this machine has: a short
# run (both runs of compare mode, BatchNorm, one-cycle schedule, mixup and CutMix) under each
# MIXUP_CPU_ISA level, and its CSV numbers and both checkpoints compared byte for byte.
#   isa_levels_train.sh MIXUP_TRAIN WORKDIR      (exit 77: only one level here, nothing compared)
set -eu
train=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
best=$("$train" --version | sed -n 's/.*CPU level \([a-z0-9]*\)).*/\1/p')
case $best in
  avx512) levels="baseline avx2 avx512" ;;
  avx2) levels="baseline avx2" ;;
  baseline) levels="baseline" ;;
  *) echo "cannot read the CPU level from: $("$train" --version)"; exit 1 ;;
esac
for l in $levels; do
  got=$(MIXUP_CPU_ISA=$l "$train" --version | sed -n 's/.*CPU level \([a-z0-9]*\)).*/\1/p')
  [ "$got" = "$l" ] || { echo "MIXUP_CPU_ISA=$l but mixup-train --version says '$got'"; exit 1; }
  MIXUP_CPU_ISA=$l "$train" --quiet --device cpu --threads 2 --epochs 2 --train-limit 768 \
    --arch simple_cnn:1,8,16,10 --bn on --schedule onecycle --seed 5 --cutmix 1 --switch-prob 0.5 \
    --log "$dir/$l.csv" --save "$dir/$l.ckpt" >"$dir/$l.txt"
  cut -d, -f1-5 "$dir/$l.csv" >"$dir/$l.numbers"  # all but the time column
done
status=0
for l in $levels; do
  [ "$l" = baseline ] && continue
  for f in numbers ckpt.nomixup ckpt.mixup; do
    cmp "$dir/baseline.$f" "$dir/$l.$f" || { echo "$l differs from baseline: $f"; status=1; }
  done
done
[ $status -eq 0 ] || exit 1
if [ "$levels" = baseline ]; then
  echo "this CPU has one level (baseline): nothing to compare"
  exit 77
fi
echo "levels $levels: same CSV numbers and checkpoints, bit for bit"
