#!/usr/bin/env python3
"""The verdict table of scripts/gpu-check: each speed target of issues 9, 10 and 12, the value
this run measured, PASS / FAIL (or "not measured" where a benchmark is missing or errored).
A benchmark whose self-check found other bits than its reference (counter self_check = 0) is
timed all the same: its rows are FAIL, with the timing shown. Reads OUTDIR/bench_mixup.json,
bench_cross_entropy.json and, if present, bench_train.json and torch_peers.json.

  scripts/gpu_verdicts.py OUTDIR [--trainer TEXT]

--trainer says why the trainer's cuDNN benchmark did not run (not built, no cuDNN, its exit
status); its row is then FAIL with that text.
"""
import json
import os
import sys

UNIT = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def self_check(b):
    """1 where the benchmark's output matched its reference bit for bit, 0 where it did not,
    None where the benchmark has no self-check."""
    v = b.get("self_check")
    return None if v is None else int(round(v))


def load_bench(path):
    """name -> (microseconds per call, counters) for the runs that did not error."""
    if not os.path.exists(path):
        return {}
    rows = {}
    for b in json.load(open(path)).get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        name = b["name"][: -len("/manual_time")] if b["name"].endswith("/manual_time") else b["name"]
        rows[name] = (b["real_time"] * UNIT[b.get("time_unit", "ns")], b)
    return rows


def cutmix_without_targets(mix, t, floor_share):
    """CutMix's other cases, for the reader: in place (floor: the box bytes read and written)
    and the other shapes, each against its floor and its unfused baseline."""
    lines = []
    for shape in ("256x3x32x32", "64x3x224x224"):
        for variant, kind in (("", "f32"), ("", "u8_to_f32"), ("_in_place", "f32")):
            name = f"{shape}/{kind}"
            fused = t(mix, f"BM_cuda_cutmix_fused{variant}/{name}")
            unfused = t(mix, f"BM_cuda_cutmix_unfused{variant}/{name}")
            if fused is None:
                continue
            share = floor_share(mix, f"BM_cuda_cutmix_fused{variant}/{name}")
            box = mix[f"BM_cuda_cutmix_fused{variant}/{name}"][1].get("box_share")
            lines.append(f"| {'in place' if variant else 'out of place'} {name} | {fused:.1f} µs"
                         f" | {f'{100 * share:.0f}%' if share else '—'} | {f'{100 * box:.0f}%' if box is not None else '—'}"
                         f" | {f'{unfused / fused:.2f}×' if unfused else '—'} |")
    if lines:
        print("## CutMix, no target (issue 12)\n")
        print("| case | fused | share of floor | boxed share | unfused / fused |")
        print("|---|---|---|---|---|")
        print("\n".join(lines) + "\n")


def trainer_row(out, trainer):
    """The trainer's cuDNN step ran (bench_train's interleaved cuda case, no error)."""
    cases = [b for b in load_bench_all(os.path.join(out, "bench_train.json"))
             if b["name"].startswith("BM_train_step_interleaved/cuda")]
    ran = [b for b in cases if not b.get("error_occurred")]
    target = "trainer: bench_train's cuDNN step runs (cuDNN found, bench_train exits 0)"
    if ran and not trainer:
        ms = ran[0]["real_time"] * UNIT[ran[0].get("time_unit", "ns")] / 1e3
        return (target, f"{ms:.2f} ms per step", "PASS")
    if trainer or cases:
        why = trainer or cases[0].get("error_message", "errored")
        return (target, why, "FAIL")
    return (target, "not measured", "—")


def load_bench_all(path):
    if not os.path.exists(path):
        return []
    try:
        return json.load(open(path)).get("benchmarks", [])
    except ValueError:
        return []


def main(out, trainer=None):
    mix = load_bench(os.path.join(out, "bench_mixup.json"))
    ce = load_bench(os.path.join(out, "bench_cross_entropy.json"))
    peers = {}
    peers_path = os.path.join(out, "torch_peers.json")
    if os.path.exists(peers_path):
        for kind, name, variant, us, *_ in json.load(open(peers_path)):
            peers[(kind, name, variant)] = us
    rows = []
    used = []  # the benchmarks the row being built read: a self-check mismatch in one fails it

    def verdict(target, value, ok, shown):
        wrong = sorted({name for name, b in used if self_check(b) == 0})
        used.clear()
        if value is not None and wrong:
            rows.append((target, f"{shown}, but the output differs from its reference ({', '.join(wrong)})", "FAIL"))
            return
        rows.append((target, shown if value is not None else "not measured",
                     "—" if value is None else ("PASS" if ok(value) else "FAIL")))

    def t(table, name):
        if name not in table:
            return None
        used.append((name, table[name][1]))
        return table[name][0]

    def floor_share(table, name):  # share of the memory floor reached: floor time / call time
        if name not in table or "floor_ratio" not in table[name][1]:
            return None
        used.append((name, table[name][1]))
        return 1.0 / table[name][1]["floor_ratio"]

    # issue 9: the pairing's fixed cost, the fused op against its floor and its baseline
    small = [t(mix, f"BM_cuda_pairing/{b}") for b in (8, 64, 256, 1024)]
    worst = max(small) if all(v is not None for v in small) else None
    verdict("pairing (fused call on 1-element samples), B ≤ 1024: ≤ 3 µs", worst, lambda v: v <= 3.0,
            f"{worst:.2f} µs (worst of B = 8…1024)" if worst else "")
    v = t(mix, "BM_cuda_pairing/4096")
    verdict("pairing, B = 4096: ≤ 10 µs", v, lambda v: v <= 10.0, f"{v:.2f} µs" if v else "")
    for kind in ("f32", "bf16", "u8_to_f32"):
        v = floor_share(mix, f"BM_cuda_fused/64x3x224x224/{kind}")
        verdict(f"fused 64×3×224×224 {kind}: ≥ 85% of the copy floor", v, lambda v: v >= 0.85,
                f"{100 * v:.0f}%" if v else "")
    for shape in ("64x3x28x28", "256x3x32x32"):
        for kind in ("f32", "bf16", "u8_to_f32"):
            fused = t(mix, f"BM_cuda_fused/{shape}/{kind}")
            base_kind = "f32" if kind == "bf16" else kind  # the baseline kernels are f32
            unfused = t(mix, f"BM_cuda_unfused/{shape}/{base_kind}")
            v = unfused / fused if fused and unfused else None
            verdict(f"fused {shape} {kind}: ≥ 2× faster than the unfused baseline ({base_kind})", v, lambda v: v >= 2.0,
                    f"{v:.2f}× ({fused:.1f} vs {unfused:.1f} µs)" if v else "")

    # issue 12: CutMix (one box per sample) against its floor: read N + box bytes, write N
    v = floor_share(mix, "BM_cuda_cutmix_fused/64x3x224x224/f32")
    verdict("out-of-place CutMix 64×3×224×224 f32: ≥ 85% of its floor", v, lambda v: v >= 0.85,
            f"{100 * v:.0f}%" if v else "")

    # issue 10: the fused loss
    for kind in ("f32", "bf16"):
        v = floor_share(ce, f"BM_cuda_fused/8192x1000/{kind}")
        verdict(f"loss 8192×1000 {kind}: ≥ 70% of the floor", v, lambda v: v >= 0.70, f"{100 * v:.0f}%" if v else "")
        v = floor_share(ce, f"BM_cuda_fused/4096x32768/{kind}")
        verdict(f"loss 4096×32768 {kind}: ≥ 80% of the floor", v, lambda v: v >= 0.80, f"{100 * v:.0f}%" if v else "")
    fused = t(ce, "BM_cuda_fused/8192x1000/f32")
    unfused = t(ce, "BM_cuda_unfused/8192x1000/f32")
    v = unfused / fused if fused and unfused else None
    verdict("loss 8192×1000 f32: ≥ 2.5× faster than the unfused baseline", v, lambda v: v >= 2.5,
            f"{v:.2f}× ({fused:.1f} vs {unfused:.1f} µs)" if v else "")
    fused = t(ce, "BM_cuda_fused/8192x1000/f32")  # read again: this row fails on its mismatch too
    compiled = peers.get(("ce", "8192x1000", "compiled_fwdbwd"))
    v = compiled / fused if fused and compiled else None
    verdict("loss 8192×1000 f32: ≥ 2.5× faster than torch.compile's fused version", v, lambda v: v >= 2.5,
            f"{v:.2f}× ({fused:.1f} vs {compiled:.1f} µs)" if v else "")
    v = t(ce, "BM_cuda_fused/256x10/f32")
    verdict("loss 256×10 f32: no slower than the first run (12.0 µs)", v, lambda v: v <= 12.0, f"{v:.1f} µs" if v else "")

    # issue 19 item 8: odd shapes (rows not a whole number of vectors, C not a multiple of 4)
    # within 2× of their floors
    for table, name, what in ((mix, "BM_cuda_fused/64x3x227x227/f32", "fused mixup 64×3×227×227 f32"),
                              (mix, "BM_cuda_cutmix_fused/64x3x227x227/f32", "CutMix 64×3×227×227 f32"),
                              (ce, "BM_cuda_fused/8192x1001/f32", "loss 8192×1001 f32")):
        v = floor_share(table, name)
        verdict(f"{what} (odd shape): ≥ 50% of its floor", v, lambda v: v >= 0.5, f"{100 * v:.0f}%" if v else "")

    used.clear()  # the rows below and the tables after them read benchmarks for show only
    rows.append(trainer_row(out, trainer))

    print("## Verdicts (targets of issues 9, 10 and 12)\n")
    print("| target | measured | verdict |")
    print("|---|---|---|")
    for target, shown, result in rows:
        print(f"| {target} | {shown} | {result} |")
    print()
    cutmix_without_targets(mix, t, floor_share)
    if peers:  # for scale: PyTorch's paths on the same GPU, in the same run, against ours
        print("## Next to PyTorch (same GPU, same run; ratio = their time / ours)\n")
        print("| case | path | theirs | ours | ratio |")
        print("|---|---|---|---|---|")
        dtypes = {"float32": "f32", "bfloat16": "bf16"}
        for (kind, name, variant), us in sorted(peers.items()):
            if variant == "copy":
                continue
            if kind == "blend":
                shape, dt = name.split("/")
                ours = t(mix, f"BM_cuda_fused/{shape}/{dtypes.get(dt, dt)}")
            elif kind == "ce":
                ours = t(ce, f"BM_cuda_fused/{name}/f32")
            else:
                continue
            ratio = f"{us / ours:.2f}×" if ours else "—"
            print(f"| {kind} {name} | {variant} | {us:.1f} µs | {f'{ours:.1f} µs' if ours else 'not measured'} | {ratio} |")
        print()
    failed = sum(r[2] == "FAIL" for r in rows)
    missing = sum(r[2] == "—" for r in rows)
    print(f"Verdicts: {len(rows) - failed - missing} PASS, {failed} FAIL, {missing} not measured\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    why = None
    if "--trainer" in args:
        i = args.index("--trainer")
        why = args[i + 1]
        del args[i:i + 2]
    main(args[0] if args else ".", why)
