#!/bin/sh
# A committed experiment log reproduces: the first 2 epochs of both runs of setting D, seed 0
# (docs/experiment-2026-12/D_seed0.csv), every printed digit, under the CPU level the
# log was made at (its MADE_ON.md) — skipped, with the reason, where this CPU lacks that level.
#   reproduce_log.sh MIXUP_TRAIN LOGDIR WORKDIR
set -eu
train=$1 logdir=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
level=$(sed -n 's/^- CPU level: *\([a-z0-9]*\).*/\1/p' "$logdir/MADE_ON.md")
[ -n "$level" ] || { echo "$logdir/MADE_ON.md names no '- CPU level:'"; exit 1; }
if MIXUP_CPU_ISA=$level "$train" --version | grep -q refused; then
  echo "skipped: the log was made at CPU level $level, which this CPU lacks"
  exit 77
fi
# setting D of scripts/experiment, with the trainer's defaults (fastai's), 2 of its 40 epochs:
# the schedule is constant, so the first epochs do not depend on the total
MIXUP_CPU_ISA=$level "$train" --quiet --seed 0 --epochs 2 --train-limit 5000 --arch simple_cnn:1,32,64,10 \
  --last-relu off --log "$work/D_seed0.csv" >"$work/D_seed0.txt"
awk -F, '$2 == 0 || $2 == 1 {print $1","$2","$3","$4","$5}' "$logdir/D_seed0.csv" >"$work/want"
awk -F, '$2 == 0 || $2 == 1 {print $1","$2","$3","$4","$5}' "$work/D_seed0.csv" >"$work/got"
[ "$(wc -l <"$work/want")" -eq 4 ] || { echo "the committed log has no 2 epochs of both runs"; exit 1; }
if ! cmp -s "$work/want" "$work/got"; then
  echo "the first 2 epochs differ from $logdir/D_seed0.csv (CPU level $level):"
  diff "$work/want" "$work/got"
  exit 1
fi
echo "D seed 0, epochs 0-1 of both runs: the same numbers as $logdir/D_seed0.csv at CPU level $level"
