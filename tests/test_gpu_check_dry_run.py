#!/usr/bin/env python3
"""scripts/gpu-check --dry-run with stand-in programs (scripts/gpu-check-standins): the steps
come in the order that spends a lent GPU's minutes well, each asks for what it should, and the
report survives every section."""
import os, re, subprocess, sys, tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
problems = []


def want(ok, what):
    if not ok:
        problems.append(what)


with tempfile.TemporaryDirectory() as out:
    env = dict(os.environ, LD_LIBRARY_PATH="/the/callers/path", GPU_CHECK_STANDINS=os.path.join(out, "standin"))
    run = subprocess.run([os.path.join(root, "scripts", "gpu-check"), "--dry-run", os.path.join(out, "o")],
                         capture_output=True, text=True, env=env)
    # the stand-in bench_train fails: the check says so in its exit status
    want(run.returncode == 1, f"exit status {run.returncode}, want 1 (bench_train failed)")
    standin = [os.path.join(out, "standin")]
    calls = open(os.path.join(standin[0], "calls.txt")).read().splitlines() if standin else []
    names = [c.split()[0] for c in calls]
    report = open(os.path.join(out, "o", "report.md")).read()

    # the CUDA benchmarks first, then the tests, then the sanitizers, then the peers
    def first(name):
        return names.index(name) if name in names else 10**6
    want(first("bench_mixup") < first("ctest") < first("compute-sanitizer") < first("torch-peers") < 10**6,
         f"steps out of order: {names}")
    for c in calls:
        if c.startswith(("bench_mixup ", "bench_cross_entropy ")):
            want("--benchmark_filter=^BM_cuda" in c, f"a benchmark runs its CPU cases too: {c}")
        if c.startswith("ctest "):
            want(re.search(r"-L gpu\b", c) and "--timeout" in c, f"ctest not limited to the gpu label with a per-test timeout: {c}")
        if c.startswith("compute-sanitizer "):
            want("MIXUP_SANITIZER_SWEEP=1" in c, f"a sanitizer run at full size: {c}")
            if "test_targets_gpu" in c:
                want("-*TenMillion*" in c, f"the ten-million-λ test under a sanitizer: {c}")
        # the carried Debian libraries never reach python/torch: no run-wide LD_LIBRARY_PATH
        if c.startswith(("torch-peers ", "compute-sanitizer ", "bench_mixup ")):
            want("LD_LIBRARY_PATH=/the/callers/path |" in c or "LD_LIBRARY_PATH=/the/callers/path " in c,
                 f"LD_LIBRARY_PATH changed for: {c}")
    # the verdict table was in the report before the tests began
    began = os.path.join(standin[0], "report-when-tests-began.md") if standin else ""
    want(os.path.exists(began) and "## Verdicts" in open(began).read(), "no verdict table when the tests began")
    # a bit mismatch keeps the timing and fails the row; bench_train's failure shows as a row
    want(re.search(r"\| fused 64×3×224×224 f32: [^|]* \| 103%, but the output differs[^|]* \| FAIL \|", report),
         "the mismatched benchmark's row is not FAIL with its timing")
    want(re.search(r"\| trainer: [^|]* \| bench_train failed \(rc 3\) \| FAIL \|", report),
         "bench_train's failure is not in the verdict table")
    want(report.count("| clean |") == 9, "not every sanitizer run is in the report")
    want("Tests (label gpu): 100% tests passed" in report, "no test summary in the report")
    want("PyTorch peers: ran" in report, "no peers line in the report")

if problems:
    print("\n".join(problems))
    print(run.stdout[-3000:], run.stderr[-2000:])
    sys.exit(1)
print("gpu-check --dry-run: every step in order, as asked")
