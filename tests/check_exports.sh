#!/bin/sh
# libmixup_cuda.so exports the C ABI and nothing else (no CUB template instances, no CCCL
# guard variables), under the SONAME of its ABI version.  check_exports.sh LIB MAJOR WANT
lib=$1 major=$2 want=$3
readelf -d "$lib" | grep -q "Library soname: \[libmixup_cuda.so.$major\]" || { echo "SONAME is not libmixup_cuda.so.$major"; exit 1; }
syms=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//')
other=$(echo "$syms" | grep -v '^mixup_')
[ -z "$other" ] || { echo "exported besides the C ABI:"; echo "$other"; exit 1; }
n=$(echo "$syms" | grep -c '^mixup_')
[ "$n" -eq "$want" ] || { echo "$n mixup_* symbols exported, want the $want declared in mixup.h and loss.h"; exit 1; }
echo "libmixup_cuda.so.$major: $n symbols, all mixup_*"
