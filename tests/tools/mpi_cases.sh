#!/usr/bin/env bash
# mixup-train under mpiexec (issue 22), one case per CTest test (label mpi):
#   mpi_cases.sh CASE TRAIN
# Exit 77 (skipped, with the reason) where mpiexec is missing or the build has no MPI.
# Small data (--train-limit, 2 epochs, one thread per rank) so the cases stay short; each
# mpiexec runs under a timeout, so a hang fails the case instead of the suite.
set -u
case_name=$1 train=$2
here=$(cd "$(dirname "$0")" && pwd)
fm=${MIXUP_DATA_DIR:-/usr/share/datasets/fashion-mnist}
# a relocated Open MPI (scripts/gpu-prep-openmpi; scripts/gpu-check sets this on the GPU machine)
if [[ -n ${MIXUP_OPENMPI_ENV:-} ]]; then
  # shellcheck source=/dev/null
  source "$MIXUP_OPENMPI_ENV" || { echo "SKIP: cannot read $MIXUP_OPENMPI_ENV"; exit 77; }
  mpiexec --version >/dev/null 2>&1 || { echo "SKIP: the carried mpiexec does not run here: $(mpiexec --version 2>&1 | head -3)"; exit 77; }
fi
command -v mpiexec >/dev/null || { echo "SKIP: mpiexec not found (scripts/setup installs openmpi-bin)"; exit 77; }
[[ -d $fm ]] || { echo "SKIP: $fm is not installed"; exit 77; }
# Open MPI refuses root without these (CI runs as root); vader's single-copy mechanism
# (CMA) is not allowed in most containers.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
if "$train" --comm mpi --data /nonexistent 2>&1 | grep -q "has no MPI"; then
  echo "SKIP: this mixup-train was built without MPI (install libopenmpi-dev and reconfigure)"
  exit 77
fi

fail() { echo "FAIL: $*"; exit 1; }
# The first 512 training and 1000 test images of Fashion-MNIST, as IDX files in ./fm: the
# full 10 000-image validation every epoch would be most of each case's time.
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
subset() {  # subset SPLIT COUNT
  { printf '\x00\x00\x08\x03'; be32 "$2"; be32 28; be32 28; zcat "$fm/$1-images-idx3-ubyte.gz" | tail -c +17 | head -c $(($2 * 784)); } >"fm/$1-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01'; be32 "$2"; zcat "$fm/$1-labels-idx1-ubyte.gz" | tail -c +9 | head -c "$2"; } >"fm/$1-labels-idx1-ubyte"
}
mkdir fm && subset train 512 && subset t10k 1000 || fail "cannot make the small data set from $fm"
fm=$PWD/fm
run_mpi() { timeout 120 mpiexec --oversubscribe "$@"; }
base=(--quiet --threads 1)
common=("${base[@]}" --data "$fm" --epochs 2)
# same_run A B: the CSV logs agree in every column but the time, and the checkpoints byte for byte
same_run() {
  cmp -s <(cut -d, -f1-5 "$1.csv") <(cut -d, -f1-5 "$2.csv") || fail "logs differ:
$(paste -d' ' "$1.csv" "$2.csv")"
  cmp "$1.ckpt" "$2.ckpt" || fail "checkpoints $1.ckpt and $2.ckpt differ"
}
# close_run A B RTOL: the logs' losses and accuracies agree to RTOL (relative)
close_run() {
  paste -d, "$1.csv" "$2.csv" | awk -F, -v rtol="$3" 'NR > 1 {
    for (i = 3; i <= 5; ++i) { a = $i; b = $(i + 6); d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a;
      if (d > rtol * m) { print "column " i " of epoch " $2 ": " a " vs " b; bad = 1 } } }
    END { exit bad }' || fail "logs differ by more than $3"
}
# expect_stop RC REGEX: the last run ($rc, out.txt) exited RC, said REGEX once, wrote no checkpoint
expect_stop() {
  [[ $rc -eq $1 ]] || fail "exited $rc, expected $1:
$(cat out.txt)"
  [[ $(grep -Ec -- "$2" out.txt) -eq 1 ]] || fail "did not say /$2/ exactly once:
$(cat out.txt)"
  [[ $(grep -c "^mixup-train:" out.txt) -le 1 ]] || fail "more than one rank spoke:
$(cat out.txt)"
  ! ls ./*.ckpt* >/dev/null 2>&1 || fail "a checkpoint was written: $(ls ./*.ckpt*)"
}
# a two-rank run where rank 1 alone has MIXUP_TRAIN_FAULT=$1 (tools/fault_injection.hpp);
# $2, $3: more flags for rank 0 and rank 1
fault_run() {
  local a=("${common[@]}" --train-limit 512 --bs 16 --mixup on --log f.csv --save f.ckpt)
  # shellcheck disable=SC2086  # $2 and $3 are flag lists: split on purpose
  run_mpi -n 1 "$train" "${a[@]}" ${2:-} : -n 1 env MIXUP_TRAIN_FAULT="$1" "$train" "${a[@]}" ${3:-} >out.txt 2>&1
  rc=$?
}

# gpu_run NAME ARGS...: one process on the GPU (the reference of a gpu.mpi case); skips (77)
# where this machine or build cannot train on the GPU, saying why
gpu_run() {
  local name=$1
  shift
  "$train" "$@" --log "$name.csv" --save "$name.ckpt" >"$name.txt" 2>&1 && return 0
  grep -q "^mixup-train: --device cuda: " "$name.txt" && { echo "SKIP: $(grep -m1 "^mixup-train: --device cuda: " "$name.txt")"; exit 77; }
  fail "$name: $(cat "$name.txt")"
}

# sigint_run LAUNCHER: 2 ranks, SIGINT to the launcher after the second epoch is logged; sets rc;
# fails if it ran on, or left a checkpoint or a half-written log line
sigint_run() {
  timeout 120 "$1" --oversubscribe -n 2 "$train" "${base[@]}" --data "$fm" --epochs 100000 --train-limit 256 \
    --bs 32 --mixup on --log s.csv --save s.ckpt >out.txt 2>&1 &
  local pid=$! i
  for ((i = 0; i < 600; i++)); do
    [[ -f s.csv && $(wc -l <s.csv) -ge 3 ]] && break
    kill -0 $pid 2>/dev/null || fail "it ended before its second epoch: $(cat out.txt)"
    sleep 0.1
  done
  [[ $(wc -l <s.csv 2>/dev/null || echo 0) -ge 3 ]] || { kill -KILL $pid; fail "no epoch logged within 60 s"; }
  kill -INT $pid
  wait $pid
  rc=$?
  ! ls ./*.ckpt* >/dev/null 2>&1 || fail "a checkpoint was written"
  awk -F, 'NF != 6 { exit 1 }' s.csv || fail "a half-written log line: $(cat s.csv)"
}

case $case_name in
  # --- the cuDNN engine (label gpu, run by scripts/gpu-check; skipped without a GPU) ------
  # Two ranks sharing the one GPU, gradients staged through the host (MPI): the bits of one
  # process running 2 virtual ranks on the GPU. Bit-identical because the engine is
  # deterministic run to run: cuDNN algorithms chosen deterministic where one qualifies (every
  # simple_cnn shape has one), FP32 math, BatchNorm and the loss reduce in a fixed order, and
  # both runs use the same micro-batch size, so the same algorithms.
  gpu_np2_equals_virtual_ranks_2)
    a=("${common[@]}" --device cuda --train-limit 512 --bs 16 --mixup on --bn on)
    gpu_run v "${a[@]}" --virtual-ranks 2
    run_mpi -n 2 "$train" "${a[@]}" --comm mpi --log n.csv --save n.ckpt >out.txt 2>&1 || fail "mpiexec -n 2: $(cat out.txt)"
    grep -q "data-parallel: 2 rank(s) (mpi)" out.txt || fail "not a 2-rank MPI run: $(cat out.txt)"
    grep -q "device cuda" out.txt || fail "not on the GPU: $(cat out.txt)"
    same_run n v ;;
  # NCCL with one rank (NCCL refuses two ranks on one GPU: across GPUs it is untested): with
  # --accum 2 each step's sum goes through the communicator, which for one rank is a copy, so
  # the bits are those of the GPU trainer with --accum 2 and no communicator; both reductions.
  gpu_nccl_np1_equals_plain)
    a=("${common[@]}" --device cuda --train-limit 512 --bs 16 --accum 2 --mixup on)
    gpu_run p "${a[@]}" --comm none
    if "$train" --comm nccl --data /nonexistent 2>&1 | grep -q "this build has no NCCL"; then
      echo "SKIP: this mixup-train was built without NCCL (nccl.h and libnccl not found)"
      exit 77
    fi
    for reduce in ordered allreduce; do
      run_mpi -n 1 "$train" "${a[@]}" --comm nccl --reduce $reduce --log n.csv --save n.ckpt >out.txt 2>&1 ||
        fail "mpiexec -n 1 --comm nccl --reduce $reduce: $(cat out.txt)"
      grep -q "(nccl)" out.txt || fail "not an NCCL run: $(cat out.txt)"
      same_run n p
      rm -f n.csv n.ckpt
    done
    # and without --accum: the plain GPU trainer's step (the communicator made, unused)
    b=("${common[@]}" --device cuda --train-limit 512 --bs 16 --mixup on)
    gpu_run q "${b[@]}" --comm none
    run_mpi -n 1 "$train" "${b[@]}" --comm nccl --log n.csv --save n.ckpt >out.txt 2>&1 || fail "mpiexec -n 1 --comm nccl: $(cat out.txt)"
    same_run n q ;;
  # The central test: 2 ranks give the bits of one process running 2 virtual ranks (mixup,
  # BatchNorm: per-rank statistics, combined at each epoch's end).
  np2_equals_virtual_ranks_2)
    a=("${common[@]}" --train-limit 512 --bs 16 --mixup on --bn on)
    run_mpi -n 2 "$train" "${a[@]}" --log n.csv --save n.ckpt >out.txt 2>&1 || fail "mpiexec -n 2: $(cat out.txt)"
    grep -q "data-parallel: 2 rank(s) (mpi)" out.txt || fail "not a 2-rank MPI run: $(cat out.txt)"
    "$train" "${a[@]}" --virtual-ranks 2 --log v.csv --save v.ckpt >/dev/null || fail "--virtual-ranks 2"
    same_run n v
    "$train" "${a[@]}" --log p.csv --save p.ckpt >/dev/null || fail "one process"
    ! cmp -s n.ckpt p.ckpt || fail "2 ranks gave the bits of one plain process: the test cannot tell them apart"
    # the 2-rank checkpoint loads with any rank count: 3 ranks and one process evaluate it alike
    e=(--quiet --threads 1 --data "$fm" --epochs 0 --mixup off --load n.ckpt)
    run_mpi -n 3 "$train" "${e[@]}" >e3.txt 2>&1 || fail "--load with 3 ranks: $(cat e3.txt)"
    "$train" "${e[@]}" >e1.txt 2>&1 || fail "--load in one process: $(cat e1.txt)"
    [[ $(grep "best accuracy" e3.txt) == "$(grep "best accuracy" e1.txt)" && -n $(grep "best accuracy" e1.txt) ]] ||
      fail "3 ranks and one process evaluate the checkpoint differently: $(cat e3.txt e1.txt)" ;;
  # 3 ranks (odd: 480 images = 5 global batches of 3 x 2 x 16), with accumulation.
  np3_accum_equals_virtual_ranks_3)
    a=("${common[@]}" --train-limit 480 --bs 16 --accum 2 --mixup on --bn on)
    run_mpi -n 3 "$train" "${a[@]}" --log n.csv --save n.ckpt >out.txt 2>&1 || fail "mpiexec -n 3: $(cat out.txt)"
    "$train" "${a[@]}" --virtual-ranks 3 --log v.csv --save v.ckpt >/dev/null || fail "--virtual-ranks 3"
    same_run n v ;;
  # MPI_Allreduce's summation order is Open MPI's: 3 ranks agree with the ordered sum to rounding.
  allreduce_agrees_to_rounding)
    a=("${common[@]}" --train-limit 480 --bs 16 --mixup on)
    run_mpi -n 3 "$train" "${a[@]}" --reduce allreduce --log n.csv >out.txt 2>&1 || fail "$(cat out.txt)"
    "$train" "${a[@]}" --virtual-ranks 3 --log v.csv >/dev/null || fail "--virtual-ranks 3"
    close_run n v 1e-5 ;;
  np1_equals_plain)
    a=("${common[@]}" --train-limit 512 --bs 32 --mixup on)
    run_mpi -n 1 "$train" "${a[@]}" --log n.csv --save n.ckpt >out.txt 2>&1 || fail "mpiexec -n 1: $(cat out.txt)"
    "$train" "${a[@]}" --log p.csv --save p.ckpt >/dev/null || fail "plain"
    same_run n p ;;
  # Without mixup, 2 ranks x bs 16 average to the gradient of one batch of 32: equal to rounding.
  no_mixup_np2_matches_one_process_2b)
    run_mpi -n 2 "$train" "${common[@]}" --train-limit 512 --bs 16 --mixup off --log n.csv >out.txt 2>&1 ||
      fail "$(cat out.txt)"
    "$train" "${common[@]}" --train-limit 512 --bs 32 --mixup off --log p.csv >/dev/null || fail "plain"
    close_run n p 1e-5 ;;
  # --- failures: every rank stops, one message, one status, nothing half-written ----------
  bad_file_on_one_rank)
    a=("${base[@]}" --epochs 2 --train-limit 512 --bs 16 --log f.csv --save f.ckpt)
    run_mpi -n 1 "$train" "${a[@]}" --data "$fm" : -n 1 "$train" "${a[@]}" --data /nonexistent >out.txt 2>&1
    rc=$?
    expect_stop 1 "^mixup-train: rank 1: /nonexistent: not a directory"
    [[ ! -e f.csv ]] || fail "a log was started before every rank had its data" ;;
  nan_on_one_rank)
    fault_run nan@5
    expect_stop 1 "^mixup-train: rank 1: the training loss is nan" ;;
  failure_on_one_rank)
    fault_run throw@20
    expect_stop 1 "^mixup-train: rank 1: injected failure"
    [[ $(wc -l <f.csv) -eq 2 ]] || fail "the log should hold epoch 0 only: $(cat f.csv)" ;;
  checksum_catches_divergence)
    fault_run diverge@1
    expect_stop 1 "^mixup-train: rank 0: the parameters differ across ranks after epoch 1" ;;
  # A rank that neither fails nor arrives (stall@N: it sleeps inside its step): its watchdog
  # names it and ends the job (exit 3) within the timeout, long before mpiexec's 120 s.
  stalled_rank_is_ended_by_the_watchdog)
    SECONDS=0
    fault_run stall@5 "--rank-timeout 3" "--rank-timeout 3"
    expect_stop 3 "^mixup-train: rank 1: stalled: step 5's micro-batches did not finish in [0-9]+ s"
    ((SECONDS < 60)) || fail "took $SECONDS s"
    awk -F, 'NF != 6 { exit 1 }' f.csv || fail "a half-written log line: $(cat f.csv)"
    # the stalled rank's own watchdog off (a stopped process cannot speak): rank 0 waits
    # twice the timeout in the reduction, then ends the job itself
    rm -f f.csv
    fault_run stall@5 "--rank-timeout 3" "--rank-timeout 0"
    expect_stop 3 "^mixup-train: rank 0: waited [0-9]+ s in step 5's reduction for a rank that neither failed"
    ((SECONDS < 90)) || fail "took $SECONDS s" ;;
  killed_rank_ends_the_job)
    fault_run kill@4
    [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exited $rc (124: it hung): $(cat out.txt)"
    ! ls ./*.ckpt* >/dev/null 2>&1 || fail "a checkpoint was written" ;;
  # Ctrl-C reaches mpiexec, which sends SIGTERM to every rank: they stop at their next batch
  # (Open MPI's mpiexec then exits 1), keep the finished epochs' log lines, write no checkpoint.
  sigint_to_mpiexec)
    sigint_run mpiexec
    [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exited $rc (124: it hung): $(cat out.txt)" ;;
  # The same through scripts/mpirun-train, which exits 130 for it.
  sigint_to_mpirun_train)
    sigint_run "$here/../../scripts/mpirun-train"
    [[ $rc -eq 130 ]] || fail "exited $rc, expected 130: $(cat out.txt)" ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
