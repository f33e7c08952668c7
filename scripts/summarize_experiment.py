#!/usr/bin/env python3
"""Summarises scripts/experiment's CSV logs: best accuracy and final valid loss without mixup,
with mixup and with CutMix per setting, mean ± half-range over the seeds, and per-seed
differences from the run without. Several directories may be given (e.g. the baseline's and
the CutMix runs'); their runs are pooled by setting and seed."""
import csv, glob, os, sys
from collections import defaultdict

runs = defaultdict(lambda: defaultdict(dict))  # setting -> run -> seed -> (best_acc, final_valid)
for path in sorted(p for out in sys.argv[1:] for p in glob.glob(os.path.join(out, "*_seed*.csv"))):
    setting, seed = os.path.basename(path)[:-4].split("_seed")
    rows = defaultdict(list)
    for r in csv.DictReader(open(path)):
        rows[r["run"]].append(r)
    for run, rs in rows.items():
        runs[setting][run][seed] = (max(float(r["accuracy"]) for r in rs), float(rs[-1]["valid_loss"]), len(rs))

def stat(xs):
    m = sum(xs) / len(xs)
    return f"{m:.4f} ± {(max(xs) - min(xs)) / 2:.4f}"

print("| setting | run | seeds | epochs | best accuracy | final valid loss |")
print("|---|---|---|---|---|---|")
for setting in sorted(runs):
    for run in ("no_mixup", "mixup", "cutmix"):
        d = runs[setting].get(run, {})
        if not d:
            continue
        accs = [v[0] for v in d.values()]
        losses = [v[1] for v in d.values()]
        print(f"| {setting} | {run} | {len(d)} | {next(iter(d.values()))[2]} | {stat(accs)} | {stat(losses)} |")
print()
for setting in sorted(runs):
    a = runs[setting].get("no_mixup", {})
    for run in ("mixup", "cutmix"):
        b = runs[setting].get(run, {})
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue
        dacc = [b[s][0] - a[s][0] for s in seeds]
        dloss = [b[s][1] - a[s][1] for s in seeds]
        name = "mixup" if run == "mixup" else "CutMix"
        print(f"{setting}: {name} − no mixup, per seed: best accuracy {', '.join(f'{x:+.4f}' for x in dacc)}; "
              f"final valid loss {', '.join(f'{x:+.4f}' for x in dloss)}")
