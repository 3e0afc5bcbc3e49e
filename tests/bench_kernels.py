#!/usr/bin/env python3
"""GEMM rates of the engine's three precisions on this CPU, at the released coarse model's shapes.

The engine's transformer GEMMs are these calls (engine/src/transformer.cpp, engine/include/vamp/precision.h):
fp32 at::mm/addmm, bf16 at::mm on bf16 weights and activations (oneDNN), int8
quantized::linear_dynamic with weights prepacked by quantized::linear_prepack under the
onednn (or fbgemm) engine. This times the same calls through PyTorch at 575 rows (a 10 s coarse
window) against the coarse model's four weight shapes, at 1 thread and at the engine's default
budget (every core the process may use), and prints GFLOP/s. A benchmark, not a test:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tests/bench_kernels.py [--repeat N]
"""
import argparse
import os
import time

import torch

D = 1280  # released coarse width
SHAPES = [("qkv", 3 * D, D), ("fc", D, D), ("w_1", 4 * D, D), ("w_2", D, 2 * D)]


def cores():
    n = len(os.sched_getaffinity(0))
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            n = min(n, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, n)


def best(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=575)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    engines = torch.backends.quantized.supported_engines
    qengine = "onednn" if "onednn" in engines else "fbgemm" if "fbgemm" in engines else None
    print(f"torch {torch.__version__}, quantized engines {engines}, int8 via {qengine}, "
          f"{cores()} cores usable, load {os.getloadavg()[0]:.2f}")
    x = torch.randn(args.rows, 4 * D)
    for threads in sorted({1, cores()}):
        torch.set_num_threads(threads)
        total = {"fp32": 0.0, "bf16": 0.0, "int8": 0.0}
        flops = 0.0
        for name, out_f, in_f in SHAPES:
            w = torch.randn(out_f, in_f) / in_f ** 0.5
            a = x[:, :in_f].contiguous()
            f = 2.0 * args.rows * in_f * out_f
            flops += f
            rates = {"fp32": best(lambda: torch.mm(a, w.t()), args.repeat)}
            wb, ab = w.to(torch.bfloat16), a.to(torch.bfloat16)
            rates["bf16"] = best(lambda: torch.mm(ab, wb.t()), args.repeat)
            if qengine:
                torch.backends.quantized.engine = qengine
                packed = torch.ops.quantized.linear_prepack(
                    torch.quantize_per_tensor(w, w.abs().max().item() / 127, 0, torch.qint8), None)
                rates["int8"] = best(lambda: torch.ops.quantized.linear_dynamic(a, packed, False),
                                     args.repeat)
            for p, secs in rates.items():
                total[p] += secs
            print(f"  {threads} thread(s) {name:4s} [{args.rows}x{in_f}]x[{in_f}x{out_f}]: " +
                  ", ".join(f"{p} {f / s / 1e9:6.0f} GFLOP/s" for p, s in rates.items()))
        print(f"{threads} thread(s), the four GEMMs of one layer: " +
              ", ".join(f"{p} {flops / s / 1e9:.0f} GFLOP/s ({s * 1e3:.1f} ms)"
                        for p, s in total.items() if s > 0))


if __name__ == "__main__":
    main()
