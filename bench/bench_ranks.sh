#!/usr/bin/env bash
# Data-parallel throughput on this machine (issue 22), one run: BM_cpu_ranks at np 1 and np 2
# (one thread per rank, bs 64 each) and one process with 2 threads (bs 128: the same global
# batch as np 2). Usage: bench/bench_ranks.sh [build/ci/bench/bench_train]
set -euo pipefail
b=${1:-build/ci/bench/bench_train}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
for np in 1 2; do
  echo "== mpiexec -n $np"
  mpiexec --oversubscribe -n $np "$b" --benchmark_filter='BM_cpu_ranks/64/1'
done
echo "== one process, 2 threads"
"$b" --benchmark_filter='BM_cpu_ranks/128/2'
