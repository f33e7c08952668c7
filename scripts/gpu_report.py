#!/usr/bin/env python3
"""The report of scripts/gpu-check, written from whatever the run has produced so far: the
script calls it after every section, so a run cut short (a hang, the device tool's time limit)
still leaves every measurement it made in OUTDIR/report.md. A section not reached says so.

  scripts/gpu_report.py OUTDIR STATEDIR [--trainer TEXT]

STATEDIR holds the sections' notes (device.txt, build.txt, benchmarks.md, sanitizer.md,
binaries.md, peers.txt); OUTDIR the benchmarks' JSON and ctest.txt. The verdict table comes
from gpu_verdicts.py on the same files; --trainer is passed through to it.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpu_verdicts  # noqa: E402


def read(path):
    return open(path).read().strip() if os.path.exists(path) else None


def bench_tables(out):
    for path in sorted(glob.glob(os.path.join(out, "bench_*.json"))):
        try:
            data = json.load(open(path))
        except (OSError, ValueError) as e:  # a benchmark killed mid-write leaves a torn file
            print(f"## {os.path.basename(path)}\n\nunreadable ({e})\n")
            continue
        print(f"## {os.path.basename(path)}\n")
        print("| benchmark | time/call | GB/s | floor_ratio | mixup overhead | self-check |")
        print("|---|---|---|---|---|---|")
        for b in data.get("benchmarks", []):
            if b.get("error_occurred"):
                print(f"| {b['name']} | error: {b.get('error_message', '')} | | | | |")
                continue
            t = b["real_time"]
            unit = b.get("time_unit", "ns")
            gbs = b.get("bytes_per_second", 0) / 1e9
            fr = b.get("floor_ratio")
            ov = b.get("overhead_pct")
            check = {None: "", 1: "bits match", 0: "**MISMATCH**"}.get(gpu_verdicts.self_check(b), "")
            print(f"| {b['name']} | {t:.4g} {unit} | {gbs:.1f} | {'' if fr is None else f'{fr:.3f}'}"
                  f" | {'' if ov is None else f'{ov:+.2f}%'} | {check} |")
        print()


def main(out, state, trainer):
    print("# GPU check report\n")
    print("Device (name, driver, memory): " + (read(os.path.join(state, "device.txt")) or "unknown") + "\n")
    print("Build: " + (read(os.path.join(state, "build.txt")) or "not reached") + "\n")
    benchmarks = read(os.path.join(state, "benchmarks.md"))
    print("Benchmarks: " + (benchmarks or "not reached") + "\n")
    if benchmarks:
        gpu_verdicts.main(out, trainer)
    ctest = os.path.join(out, "ctest.txt")
    if os.path.exists(ctest):
        lines = open(ctest, errors="replace").read().splitlines()
        summary = [l for l in lines if "tests passed" in l or "tests failed" in l]
        print("Tests (label gpu): " + (summary[-1] if summary else "no ctest summary (see ctest.txt)") + "\n")
        failed = [l for l in lines if "(Failed)" in l or "***Failed" in l or "(Timeout)" in l]
        if failed:
            print("Failed:\n\n" + "\n".join("    " + l.strip() for l in failed) + "\n")
        # on a GPU machine a skip is news (no mpiexec there, a missing cuDNN): named, with the
        # reasons scripts/gpu-check copied from CTest's log
        skipped = [l for l in lines if l.rstrip().endswith("(Skipped)")]
        reasons = [l for l in lines if l.startswith("skip reason: ")]
        if skipped:
            print("Skipped:\n\n" + "\n".join("    " + l.strip() for l in skipped + reasons) + "\n")
    else:
        print("Tests: not reached\n")
    binaries = read(os.path.join(state, "binaries.md"))
    if binaries:
        print("## Test binaries run one by one (CTest could not run them all)\n\n"
              "| binary | verdict | gtest |\n|---|---|---|\n" + binaries + "\n")
    san = read(os.path.join(state, "sanitizer.md"))
    print("## compute-sanitizer\n\n" + ("| tool | test | verdict |\n|---|---|---|\n" + san if san else "not reached") + "\n")
    print("PyTorch peers: " + (read(os.path.join(state, "peers.txt")) or "not reached") + "\n")
    if benchmarks:
        bench_tables(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    trainer = None
    if "--trainer" in args:
        i = args.index("--trainer")
        trainer = args[i + 1]
        del args[i:i + 2]
    main(args[0], args[1], trainer)
