#!/usr/bin/env bash
# The tools' command-line contract, one case per CTest test (tests/CMakeLists.txt lists them):
#   cases.sh CASE TRAIN VIZ DEMO
# Each case runs a tool and checks its exit status and what it says (exit statuses: 0 done,
# 1 runtime failure, 2 usage error naming the bad flag, 130/143 stopped by SIGINT/SIGTERM).
set -u
case_name=$1 train=$2 viz=$3 demo=$4
fm=${MIXUP_DATA_DIR:-/usr/share/datasets/fashion-mnist}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1

fail() { echo "FAIL: $*"; exit 1; }
# expect RC REGEX CMD...: CMD exits RC and its stdout+stderr match the extended regex.
expect() {
  local want=$1 re=$2
  shift 2
  out=$("$@" 2>&1)
  local rc=$?
  [[ $rc -eq $want ]] || fail "'$*' exited $rc, expected $want; it said:
$out"
  grep -Eq -- "$re" <<<"$out" || fail "'$*' did not say /$re/; it said:
$out"
}
# refuse PATTERN: the last output must not match
refuse() { ! grep -Eq -- "$1" <<<"$out" || fail "the output matched /$1/ but must not:
$out"; }

# A tiny MNIST-style data set in $d/$1: $2 training and $3 validation images (28x28, zero
# pixels), labels cycling 0..$4-1; $5 (optional) one raw byte appended to the test labels'
# payload replaces the last one; $6 (optional) the labels files' magic dimension byte.
mkdata() {
  local dir=$d/$1 ntr=$2 nte=$3 classes=$4 last=${5:-} ndim=${6:-01}
  mkdir -p "$dir"
  be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
  labels() {
    local n=$1 i
    printf "\\x00\\x00\\x08\\x$ndim"; be32 "$n"
    for ((i = 0; i < n; i++)); do printf "\\x$(printf %02x $((i % classes)))"; done
  }
  images() { printf '\x00\x00\x08\x03'; be32 "$1"; be32 28; be32 28; head -c $(($1 * 784)) /dev/zero; }
  images "$ntr" >"$dir/train-images-idx3-ubyte"
  images "$nte" >"$dir/t10k-images-idx3-ubyte"
  labels "$ntr" >"$dir/train-labels-idx1-ubyte"
  if [[ -n $last ]]; then
    labels "$nte" | head -c -1 >"$dir/t10k-labels-idx1-ubyte"
    printf "\\x$last" >>"$dir/t10k-labels-idx1-ubyte"
  else
    labels "$nte" >"$dir/t10k-labels-idx1-ubyte"
  fi
}

# Starts a long training run on tiny data, waits for two epochs in its log, sends $1.
signal_run() {
  mkdata tiny 256 128 10
  "$train" --quiet --data tiny --epochs 100000 --bs 64 --mixup on --log log.csv --save m.ckpt >out.txt 2>&1 &
  local pid=$! i
  for ((i = 0; i < 600; i++)); do
    [[ -f log.csv && $(wc -l <log.csv) -ge 3 ]] && break
    sleep 0.1
  done
  [[ $(wc -l <log.csv 2>/dev/null || echo 0) -ge 3 ]] || { kill -KILL $pid; fail "no epoch reached the log within 60 s (not flushed per epoch?)"; }
  kill "-$1" $pid
  wait $pid
  rc=$?
  out=$(cat out.txt)
}

case $case_name in
  # --- usage errors: exit 2, the one bad flag named -------------------------------------
  unknown_option)
    for t in "$train" "$demo"; do expect 2 "not expected: --bogus" "$t" --bogus; refuse "needs a value"; done
    expect 2 "not expected: --bogus" "$viz" grid --bogus
    expect 2 "unknown command 'bogus'" "$viz" bogus ;;
  stray_argument)
    expect 2 "not expected: stray" "$viz" grid stray --out x.png
    expect 2 "not expected: stray" "$train" stray
    [[ ! -e grid.png && ! -e x.png ]] || fail "a picture was written" ;;
  bad_values_exit_2)
    expect 2 "^mixup-train: --bs: 'x' is not" "$train" --bs x
    expect 2 "^mixup-demo: --bs: 'x' is not" "$demo" --bs x
    expect 2 "^mixup-viz: --bins: 'x' is not" "$viz" lambda --bins x
    expect 2 "--alpha: nan is not a finite" "$demo" --alpha nan
    expect 2 "--init: " "$train" --init bogus
    expect 2 "--drop-last: 'maybe' is not on or off" "$train" --drop-last maybe ;;
  cutmix_flags)
    expect 2 "--switch-prob requires --cutmix" "$train" --switch-prob 0.5
    expect 2 "--mix-prob: Value 1.5 not in range" "$train" --mix-prob 1.5
    expect 2 "--cutmix: -1 is not" "$train" --cutmix -1
    expect 2 "--switch-prob requires --cutmix" "$viz" grid --switch-prob 0.5
    mkdata tiny 128 64 10
    expect 0 "mixing: prob 0.80, CutMix share 0.50 \\(CutMix alpha 1.00\\)" \
      "$train" --quiet --data tiny --epochs 1 --mixup on --cutmix 1 --switch-prob 0.5 --mix-prob 0.8
    expect 0 "mixing: prob 1.00, CutMix share 1.00" "$train" --quiet --data tiny --epochs 1 --mixup on --cutmix 1
    expect 0 "picture written to c.png" "$viz" grid --data "$fm" --n 8 --cutmix 1 -o c.png
    [[ -s c.png ]] || fail "no picture" ;;
  one_flag_per_message)
    expect 2 "^mixup-train: --epochs: '-1' is not" "$train" --epochs -1
    refuse "--bs|--threads" ;;
  negative_seed)
    expect 2 "--seed: '-1' is not a whole number" "$train" --seed -1
    expect 2 "--seed: '-1' is not a whole number" "$viz" lambda --seed -1 ;;
  plot_not_png)
    expect 2 "--plot: 'x.jpg' does not end in .png" "$train" --plot x.jpg
    expect 2 "--out: 'x.jpg' does not end in .png" "$viz" lambda --out x.jpg
    [[ ! -e x.jpg ]] || fail "x.jpg was written" ;;
  plot_with_epochs_0)
    expect 2 "--plot: nothing to plot with --epochs 0" "$train" --epochs 0 --plot t.png ;;
  load_conflicts)
    expect 2 "--arch excludes --load" "$train" --load ck --arch simple_cnn:1,32,10
    expect 2 "--bn excludes --load" "$train" --load ck --bn on
    expect 2 "--last-relu excludes --load" "$train" --load ck --last-relu off ;;
  help_and_version)
    for t in "$train" "$demo" "$viz"; do
      expect 0 "Exit status: 0 done" "$t" --help
      expect 0 "^mixup-(train|viz|demo) [0-9]+\.[0-9]+\.[0-9]+ \(library [0-9]+\.[0-9]+\.[0-9]+, CPU level (baseline|avx2|avx512)\)$" "$t" --version
    done
    for c in grid lambda curves; do expect 0 "Usage: .*mixup-viz $c" "$viz" $c --help; done ;;
  cpu_isa_refused)  # MIXUP_CPU_ISA that names no level, or one above the CPU's: usage error
    export MIXUP_CPU_ISA=sse9
    expect 2 "MIXUP_CPU_ISA=sse9 is not a level: use baseline, avx2 or avx512" "$train" --epochs 0
    expect 2 "MIXUP_CPU_ISA=sse9 is not a level: use baseline, avx2 or avx512" "$demo"
    expect 0 "CPU level refused: MIXUP_CPU_ISA=sse9" "$train" --version ;;
  # --- runtime failures, found before any work: exit 1 ----------------------------------
  viz_out_short_flag)
    expect 0 "picture written to x.png" "$viz" grid --data "$fm" --n 4 -o x.png
    [[ -s x.png && ! -e grid.png ]] || fail "-o x.png was not obeyed: $(ls)" ;;
  output_is_directory)
    mkdir sub
    for f in --save --plot --log; do
      a=sub; [[ $f == --plot ]] && a=sub.png && mkdir sub.png
      expect 2 "^mixup-train: $f: $a is a directory" "$train" --quiet --data "$fm" --mixup off --epochs 1 $f $a
      refuse "^epoch"
    done
    expect 2 "--out: sub.png is a directory" "$viz" lambda --n 100 --out sub.png ;;
  load_directory)
    expect 1 "--load /tmp: is a directory, not a checkpoint" "$train" --quiet --data "$fm" --load /tmp ;;
  train_limit_too_large)
    expect 1 "--train-limit 100000000 is more than the 60000 training images" "$train" --quiet --data "$fm" --train-limit 100000000
    refuse "limited" ;;
  bs_too_large)
    expect 1 "--bs 1000000000 is more than the 60000 training images" "$train" --quiet --data "$fm" --bs 1000000000 --mixup on
    expect 1 "--bs 1000000000 is more than the 60000 training images" "$demo" --data "$fm" --bs 1000000000 ;;
  bs_memory)
    mkdata tiny 4096 64 10
    expect 1 "--bs 4096 needs at least [0-9.]+ GiB for this model, [0-9.]+ GiB of memory is available" \
      "$train" --quiet --data tiny --bs 4096 --arch simple_cnn:1,65536,10 ;;
  label_wrong_magic)
    mkdata magic 64 64 10 "" 03
    expect 1 "train-labels-idx1-ubyte: the IDX header declares 3 dimensions, this file must have 1" "$train" --quiet --data magic ;;
  bad_label_named_by_file_and_index)
    mkdata badlabel 64 64 10 0c
    expect 1 "t10k-labels-idx1-ubyte: label 12 at index 63 is not one of the model's 10 classes" \
      "$train" --quiet --data badlabel --epochs 1
    refuse "^epoch" ;;
  classes_from_data)
    mkdata two 64 64 2
    expect 0 "note: the model has 10 outputs, the data's labels use 2 classes" "$train" --quiet --data two --epochs 0 --mixup off
    expect 0 "best accuracy" "$train" --quiet --data two --epochs 0 --mixup off --arch simple_cnn:1,8,2
    refuse "note:" ;;
  # --- during training ------------------------------------------------------------------
  nan_loss_stops)
    expect 1 "training loss is (nan|inf|-nan).*training stopped" "$train" --quiet --data "$fm" --train-limit 640 --epochs 2 --lr 1e10 --mixup compare
    refuse "mixup (reduced|increased)" ;;
  epochs_0_no_comparison)
    mkdata tiny 64 64 10
    expect 0 "no comparison: --epochs 0 trains neither model" "$train" --quiet --data tiny --epochs 0
    refuse "mixup (reduced|increased)" ;;
  sigint_stops)
    signal_run INT
    [[ $rc -eq 130 ]] || fail "exit $rc after SIGINT, expected 130: $out"
    grep -Eq "stopped by SIGINT in run 'with mixup', epoch [0-9]+ of 100000.*finished epochs are in log.csv" <<<"$out" || fail "no message: $out"
    [[ $(tail -c 1 log.csv | od -An -c | tr -d ' ') == '\n' ]] || fail "the log's last line is cut"
    ls | grep -q tmp && fail "a temporary file was left: $(ls)"
    [[ ! -e m.ckpt ]] || fail "a checkpoint of the stopped run was written" ;;
  sigterm_stops)
    signal_run TERM
    [[ $rc -eq 143 ]] || fail "exit $rc after SIGTERM, expected 143: $out"
    grep -Eq "stopped by SIGTERM" <<<"$out" || fail "no message: $out"
    ls | grep -q tmp && fail "a temporary file was left: $(ls)"
    true ;;
  save_prints_path)
    mkdata tiny 128 64 10
    expect 0 "checkpoint written to m.ckpt.nomixup.*checkpoint written to m.ckpt.mixup" \
      bash -c "'$train' --quiet --data tiny --epochs 1 --save m.ckpt | tr '\n' ' '" ;;
  # --- issue 20: values checked as the program uses them, outputs refused before work --------
  float_range)
    # 1e39 is infinite as a float and 1e-50 is 0: refused, named, before any data is read
    for f in --alpha --lr --wd; do expect 2 "^mixup-train: $f: 1e39 is too large" "$train" --data /nonexistent $f 1e39; done
    expect 2 "^mixup-train: --alpha: 1e-50 is 0 as a float" "$train" --data /nonexistent --alpha 1e-50
    expect 2 "^mixup-viz: --alpha: 1e39 is too large" "$viz" lambda --alpha 1e39
    expect 2 "^mixup-demo: --alpha: 1e-50 is 0 as a float" "$demo" --alpha 1e-50 ;;
  cutmix_rounds_to_zero)
    # --cutmix 0 is off; a value that becomes 0 as a float must not silently mean off
    expect 2 "^mixup-train: --cutmix: 1e-50 is 0 as a float.*write 0 if 0 is meant" "$train" --data /nonexistent --cutmix 1e-50
    expect 2 "^mixup-viz: --cutmix: 1e-50 is 0 as a float" "$viz" grid --cutmix 1e-50 ;;
  dead_weights_stop)
    # a huge but finite --lr: the weights become NaN, ReLU hides it (loss ln 10), so the
    # loss check alone trained a dead model to the end and exited 0
    mkdata tiny 256 64 10
    expect 1 "weights became NaN or infinite at epoch 0, batch [0-9]+: training stopped" \
      "$train" --quiet --data tiny --epochs 3 --lr 1e30 --mixup off --save m.ckpt
    refuse "^ +1 "
    [[ ! -e m.ckpt ]] || fail "a checkpoint of the dead model was written" ;;
  empty_output_names)
    for f in --save --log --plot --load; do expect 2 "^mixup-train: $f: an empty file name" "$train" --data /nonexistent $f ""; done
    expect 2 "^mixup-viz: curves: an empty file name" "$viz" curves "" ;;
  save_directory_compare)
    mkdir ck
    expect 2 "^mixup-train: --save: ck is a directory" "$train" --quiet --data "$fm" --epochs 1 --save ck
    [[ ! -e ck.nomixup && ! -e ck.mixup ]] || fail "checkpoints were written beside the directory: $(ls)"
    expect 0 "checkpoint written after training; with --mixup compare \(the default\) two: FILE.nomixup and FILE.mixup" \
      bash -c "'$train' --help | tr -s ' \n' ' '" ;;
  output_not_regular_file)
    # a FIFO stands in for a device node (as root, --save /dev/full renamed a file over it)
    mkfifo pipe
    for f in --save --log; do
      expect 2 "^mixup-train: $f: pipe is not a regular file" "$train" --quiet --data "$fm" --mixup off --epochs 1 $f pipe
      [[ -p pipe ]] || fail "$f replaced the FIFO with $(ls -l pipe)"
    done
    mkfifo pipe.png
    expect 2 "^mixup-train: --plot: pipe.png is not a regular file" "$train" --quiet --data "$fm" --plot pipe.png
    expect 2 "^mixup-viz: --out: pipe.png is not a regular file" "$viz" lambda --n 100 --out pipe.png
    expect 2 "^mixup-train: --log: /dev/full is not a regular file" "$train" --quiet --data "$fm" --log /dev/full
    mkfifo m.nomixup  # compare mode writes FILE.nomixup and FILE.mixup: both checked
    expect 2 "^mixup-train: --save: m.nomixup is not a regular file" "$train" --quiet --data "$fm" --save m
    [[ -p pipe && -p pipe.png && -p m.nomixup ]] || fail "a FIFO was replaced" ;;
  write_failure_says_why)
    # a full disk, by the file-size limit (bash's ulimit -f, in KiB): the reason is named and
    # no empty log is left behind; a checkpoint that does not fit leaves no temporary file
    mkdata tiny 128 64 10
    trap '' XFSZ
    expect 1 "^mixup-train: --log log.csv: write failed \(File too large\)" \
      bash -c "ulimit -f 0; exec '$train' --quiet --data tiny --epochs 1 --mixup off --log log.csv"
    [[ ! -e log.csv ]] || fail "an empty log was left behind"
    expect 1 "m.ckpt: write failed \(File too large\)" \
      bash -c "ulimit -f 1; exec '$train' --quiet --data tiny --epochs 1 --mixup off --arch simple_cnn:1,64,64,10 --save m.ckpt"
    [[ -z $(ls | grep ckpt) ]] || fail "a checkpoint file was left: $(ls)" ;;
  cutmix_called_cutmix)
    mkdata tiny 128 64 10
    expect 0 "== with CutMix \(alpha 1.00\)" "$train" --quiet --data tiny --epochs 1 --cutmix 1
    grep -Eq "^CutMix (reduced|increased) the best error rate" <<<"$out" || fail "the summary does not say CutMix: $out"
    grep -Eq "without CutMix +with CutMix" <<<"$out" || fail "the columns do not say CutMix: $out"
    refuse "with mixup|^mixup (reduced|increased)" ;;
  exit_status_per_kind)
    # a missing input file is a runtime failure (1) in every tool; a flag given twice is a
    # usage error (2) in words
    expect 1 "missing.csv: cannot open \(No such file or directory\)" "$viz" curves missing.csv
    expect 1 "--load missing.ckpt: no such file" "$train" --quiet --data "$fm" --load missing.ckpt
    expect 2 "^mixup-train: --alpha was given 2 times; give it once" "$train" --alpha 1 --alpha 2
    refuse "At Most" ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
