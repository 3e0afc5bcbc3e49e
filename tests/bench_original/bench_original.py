#!/usr/bin/python3
"""The engine against the original VampNet, on the same work: a benchmark, not a test.

Both sides get the same checkpoints in the released layout (random weights at the released
sizes, written by `vamp-cli make-codec` / `make-transformer`), the same 10 s of tokens (uniform
random codes [1,14,575]), the same periodic mask (the app's build_mask defaults without the random
roll: frames t % 7 == 0 kept in codebooks 0-2, everything else generated) and the same seed, and
run the main app's flow at batch 1: coarse windows of 10 s with S steps (default 36), then
coarse-to-fine windows of 3 s at the Interface's fixed 2 steps.
  original: run_original.py -> vampnet.interface.Interface.vamp, PyTorch (Debian's 1.13),
            torch.set_num_threads(2) (--python-threads)
  engine:   vamp-cli vamp, default threads (every core this process may use; --engine-threads),
            once per precision (fp32, int8, bf16 by default)
Each measurement is a fresh process. The rounds alternate the sides (original first in even
rounds, last in odd rounds). Children run with OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE and
OMP_NUM_THREADS removed from the environment. Reported, as medians over the rounds:
  generation   coarse + c2f inside the process (original: around Interface.vamp; engine: the
               "coarse + c2f" time vamp-cli prints), excluding loading
  wall / CPU   the whole process (os.wait4: user + system), and CPU / wall = cores busy
  peak RSS     the process's maximum resident set
and the ratios original / engine (> 1: the engine is faster). The fp32 outputs of both sides are
also compared token for token (equal when both compute the same logits bit for bit; at 2 threads
and full size a few ulps may flip a sampled token, after which the streams diverge).

The original sources (never committed): a directory DIR with
  DIR/vampnet     hugofloresgarcia/vampnet     72e2675 (main; the goldens' commit, tests/data/GOLDEN.md)
  DIR/lac         hugofloresgarcia/lac         7761206
  DIR/audiotools  hugofloresgarcia/audiotools  54eecf6
  DIR/einops      arogozhnikov/einops          v0.8.1 (ad2c8d6), path einops/
  DIR/LoRA        microsoft/LoRA               c4593f0, path loralib/
made from clones with
  git -C vampnet    archive 72e2675 | tar -x -C DIR/vampnet      (mkdir -p each target first)
  git -C lac        archive 7761206 | tar -x -C DIR/lac
  git -C audiotools archive 54eecf6 | tar -x -C DIR/audiotools
  git -C einops     archive v0.8.1 einops  | tar -x -C DIR/einops
  git -C LoRA       archive c4593f0 loralib | tar -x -C DIR/LoRA
Python: /usr/bin/python3 with Debian's python3-torch (1.13), python3-numpy, python3-tqdm and
python3-soundfile (apt-get install them; audiotools imports soundfile, generate imports tqdm).
einops and loralib are on the compute path and run from DIR unchanged; the rest of the
original's imports are stubbed by shims.py (see there: training, download, audio-file, DSP and
beat-tracking helpers that the generation path never calls, plus torch.autocast("cuda") made the
no-op it is without CUDA; torch 1.13 raises instead).

Run (the full benchmark: about 30 min on an idle 2-core machine, 3 GB of checkpoints in --work):
  tests/bench_original/bench_original.py --src DIR [--vamp-cli build/engine/vamp-cli]
  meson test -C build --benchmark original --verbose   (with VAMP_ORIGINAL_SRC=DIR; skipped without)
A quick check that both sides run: --size tiny --seconds 2 --steps 2 --runs 1.
--check-goldens: both sides on the golden checkpoints (tests/data) against golden_interface_a's
app_default_b1 codes, to show that the two sides run the same computation (both should print 1.0000).
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SAMPLE_RATE, HOP = 44100, 768  # the released codec's framing; the tiny presets keep it
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")


def child_env():
    env = dict(os.environ)
    for name in UNSET:
        env.pop(name, None)
    return env


def run(cmd, log):
    """Runs cmd to completion; returns (stdout, stderr, wall s, CPU s, peak RSS MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=child_env())
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    log.write(f"$ {' '.join(cmd)}\n{stdout}{stderr}\n")
    log.flush()
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{stdout[-3000:]}{stderr[-3000:]}")
    return stdout, stderr, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def original_cmd(a, ck, codes, mask, out, steps, seed, extra=()):
    return [sys.executable, os.path.join(HERE, "run_original.py"), "--src", a.src,
            "--coarse", ck["coarse"], "--c2f", ck["c2f"], "--codec", ck["codec"],
            "--codes", codes, "--mask", mask, "--out", out, "--steps", str(steps), "--seed", str(seed),
            "--threads", str(a.python_threads), *extra]


def engine_cmd(a, ck, codes, mask, out, steps, seed, precision, extra=()):
    cmd = [a.vamp_cli, "vamp", "--coarse", ck["coarse"], "--c2f", ck["c2f"], "--codec", ck["codec"],
           "--in", codes, "--mask", mask, "--out", out, "--steps", str(steps), "--seed", str(seed),
           "--precision", precision, *extra]
    if a.engine_threads:
        cmd += ["--threads", str(a.engine_threads)]
    return cmd


def parse_original(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def parse_engine(stderr):
    m = re.search(r"coarse \+ c2f ([0-9.]+) s", stderr)
    if not m:
        sys.exit("vamp-cli printed no 'coarse + c2f' timing:\n" + stderr[-2000:])
    return float(m.group(1))


def checkpoints(a, log):
    t = "full" if a.size == "full" else "tiny"
    ck = {"codec": os.path.join(a.work, f"codec_{t}.pth"), "coarse": os.path.join(a.work, f"coarse_{t}.pth"),
          "c2f": os.path.join(a.work, f"c2f_{t}.pth")}
    makers = {"codec": ["make-codec", "--preset", t, "--seed", "1"],
              "coarse": ["make-transformer", "--preset", f"{t}-coarse", "--seed", "2"],
              "c2f": ["make-transformer", "--preset", f"{t}-c2f", "--seed", "3"]}
    for name, path in ck.items():
        if not os.path.exists(path):
            print(f"writing {path} (random weights, released layout)", flush=True)
            run([a.vamp_cli, *makers[name], "--out", path + ".part"], log)
            os.replace(path + ".part", path)
    return ck


def inputs(a):
    frames = math.ceil(a.seconds * SAMPLE_RATE / HOP)
    rng = np.random.default_rng(a.seed)
    codes = rng.integers(0, 1024, size=(1, 14, frames), dtype=np.int64)
    mask = np.ones((1, 14, frames), dtype=np.int64)
    mask[:, :3, ::7] = 0  # periodic prompt 7, width 1; codebooks 3-13 all generated
    paths = (os.path.join(a.work, f"codes_{frames}.npy"), os.path.join(a.work, f"mask_{frames}.npy"))
    np.save(paths[0], codes)
    np.save(paths[1], mask)
    return paths, frames


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def benchmark(a):
    os.makedirs(a.work, exist_ok=True)
    log = open(os.path.join(a.work, "bench_original.log"), "a")
    ck = checkpoints(a, log)
    (codes, mask), frames = inputs(a)
    sides = [("original", "fp32")] + [("engine", p) for p in a.precisions]
    results = {s: [] for s in sides}
    agree = []
    print(f"{frames} frames ({a.seconds:g} s), {a.steps} coarse steps, c2f 2 steps, seed {a.seed}, "
          f"{a.size} checkpoints in {a.work}; original at {a.python_threads} threads, engine at "
          f"{a.engine_threads or 'default'} threads; removed from the environment: {', '.join(UNSET)}",
          flush=True)
    for r in range(a.runs):
        order = sides if r % 2 == 0 else sides[::-1]
        outs = {}
        for side, prec in order:
            out = os.path.join(a.work, f"out_{side}_{prec}.npy")
            if side == "original":
                so, se, wall, cpu, rss = run(original_cmd(a, ck, codes, mask, out, a.steps, a.seed), log)
                info = parse_original(so)
                gen = info["generate_s"]
                extra = (f"(coarse {info['coarse_s']:.1f} s, c2f {info['c2f_s']:.1f} s, "
                         f"load {info['load_s']:.1f} s)")
            else:
                so, se, wall, cpu, rss = run(engine_cmd(a, ck, codes, mask, out, a.steps, a.seed, prec), log)
                gen = parse_engine(se)
                extra = ""
            results[(side, prec)].append((gen, wall, cpu, rss))
            outs[(side, prec)] = np.load(out)
            print(f"round {r + 1}/{a.runs}: {side:8s} {prec:4s} generation {gen:7.2f} s, process wall "
                  f"{wall:7.2f} s, CPU {cpu:7.2f} s, peak RSS {rss:7.0f} MB {extra}", flush=True)
        o, e = outs[("original", "fp32")], outs.get(("engine", "fp32"))
        if e is not None:
            if o.shape != e.shape:
                sys.exit(f"output shapes differ: original {o.shape}, engine {e.shape}")
            agree.append(float((o == e).mean()))

    print()
    cols = [f"{s} {p}" for s, p in sides]
    w = max(12, *(len(c) for c in cols))
    print(f"{'median over ' + str(a.runs) + ' runs':32s}" + "".join(f"{c:>{w + 2}s}" for c in cols))
    rows = [("generation s (coarse + c2f)", 0, "{:.2f}"), ("process wall s", 1, "{:.2f}"),
            ("process CPU s", 2, "{:.2f}"), ("peak RSS MB", 3, "{:.0f}")]
    med = {s: [median([x[i] for x in results[s]]) for i in range(4)] for s in sides}
    for name, i, fmt in rows:
        print(f"{name:32s}" + "".join(f"{fmt.format(med[s][i]):>{w + 2}s}" for s in sides))
    print(f"{'cores busy (CPU / wall)':32s}" + "".join(f"{med[s][2] / med[s][1]:>{w + 2}.2f}" for s in sides))
    orig = med[("original", "fp32")]
    for name, i in (("generation", 0), ("process wall", 1), ("process CPU", 2)):
        print(f"{'original / engine, ' + name:32s}" + f"{'':>{w + 2}s}" +
              "".join(f"{orig[i] / med[s][i]:>{w + 2}.2f}" for s in sides[1:]))
    if agree:
        print(f"fp32 tokens equal to the original's: {', '.join(f'{x:.4f}' for x in agree)} (per round)")
    print(f"commands and their output: {log.name}")


def check_goldens(a):
    """Both sides on tests/data's golden checkpoints, against golden_interface_a app_default_b1."""
    import torch

    data = os.path.join(REPO, "tests", "data")
    ck = {"codec": os.path.join(data, "codec_a.pth"), "coarse": os.path.join(data, "coarse_a.pth"),
          "c2f": os.path.join(data, "c2f_a.pth")}
    meta = json.load(open(os.path.join(data, "golden_interface_a.json")))["notes"]["app_default_b1"]
    g = torch.load(os.path.join(data, "golden_interface_a.pt"))
    os.makedirs(a.work, exist_ok=True)
    log = open(os.path.join(a.work, "check_goldens.log"), "a")
    paths = {}
    for k in ("codes", "mask"):
        paths[k] = os.path.join(a.work, f"golden_b1_{k}.npy")
        np.save(paths[k], g[f"app_default_b1/{k}"].numpy())
    want = g["app_default_b1/out_codes"].numpy()
    p = meta["params"]
    windows = ["--coarse-window-frames", str(meta["coarse_chunk_frames"]),
               "--c2f-window-frames", str(meta["c2f_chunk_frames"])]
    ok = True
    for name, cmd in (
            ("original, 1 thread",
             original_cmd(a, ck, paths["codes"], paths["mask"], "", p["steps"], p["seed"], windows)),
            ("engine fp32",
             engine_cmd(a, ck, paths["codes"], paths["mask"], "", p["steps"], p["seed"], "fp32", windows))):
        out = os.path.join(a.work, f"golden_b1_out_{name.split()[0]}.npy")
        cmd[cmd.index("--out") + 1] = out
        if name.startswith("original"):
            cmd[cmd.index("--threads") + 1] = "1"  # the goldens were made with 1 thread
        run(cmd, log)
        got = np.load(out)
        frac = float((got == want).mean()) if got.shape == want.shape else 0.0
        ok = ok and frac == 1.0
        print(f"{name:20s} codes {list(got.shape)} equal to golden app_default_b1/out_codes: {frac:.4f}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description="the engine against the original VampNet (see the file header)")
    ap.add_argument("--src", default=os.environ.get("VAMP_ORIGINAL_SRC"),
                    help="the original sources (default: $VAMP_ORIGINAL_SRC)")
    ap.add_argument("--vamp-cli", default=os.path.join(REPO, "build", "engine", "vamp-cli"))
    ap.add_argument("--work", default=os.environ.get("VAMP_BENCH_WORK", "/tmp/vamp-bench-original"),
                    help="checkpoints, inputs, outputs, log (kept between runs)")
    ap.add_argument("--size", choices=("full", "tiny"), default="full")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=36, help="coarse steps (c2f: the Interface's fixed 2)")
    ap.add_argument("--runs", type=int, default=3, help="rounds; each runs every side once")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--precisions", default="fp32,int8,bf16", help="the engine's, comma-separated")
    ap.add_argument("--python-threads", type=int, default=2)
    ap.add_argument("--engine-threads", type=int, default=0, help="0: vamp-cli's default")
    ap.add_argument("--check-goldens", action="store_true")
    a = ap.parse_args()
    if not a.src:
        print("bench_original: no original sources (--src DIR or VAMP_ORIGINAL_SRC); skipped")
        return 77  # meson's skip
    a.src = os.path.abspath(a.src)
    a.precisions = [p for p in a.precisions.split(",") if p]
    if not os.access(a.vamp_cli, os.X_OK):
        sys.exit(f"bench_original: {a.vamp_cli} is not an executable (--vamp-cli)")
    if a.check_goldens:
        return check_goldens(a)
    benchmark(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
