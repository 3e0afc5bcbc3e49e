#!/usr/bin/python3
"""One run of the original VampNet on codes: the main branch's Interface.vamp at batch 1, as its
app calls it (coarse windows, then coarse-to-fine windows at the Interface's fixed 2 steps), on
checkpoints in the released layout. bench_original.py runs this as one process per measurement.

    run_original.py --src DIR --coarse M.pth --c2f M2.pth --codec C.pth --codes Z.npy
        --mask M.npy --steps S --seed N --out Z2.npy [--threads 2]
        [--coarse-window-frames A] [--c2f-window-frames B]

DIR holds the original sources (see bench_original.py): vampnet/, lac/, audiotools/, einops/ and
LoRA/ (for loralib). Nothing in them is modified; the modules in shims.py stand in for imports
that the generation path never calls. Codes are int [1,14,T]; mask int [1,14,T], 1 = generate.

Prints one line: JSON with load_s (Interface construction: codec, coarse and c2f checkpoints),
generate_s (Interface.vamp: coarse + c2f), coarse_s and c2f_s (its two stages), threads, and the
stubbed modules that were imported.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--coarse", required=True)
    ap.add_argument("--c2f", required=True)
    ap.add_argument("--codec", required=True)
    ap.add_argument("--codes", required=True)
    ap.add_argument("--mask", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--coarse-window-frames", type=int, default=0, help="default: 10 s (the app's)")
    ap.add_argument("--c2f-window-frames", type=int, default=0, help="default: 3 s (the app's)")
    a = ap.parse_args()

    t_start = time.perf_counter()
    src = os.path.abspath(a.src)
    for d in ("vampnet", "lac", "audiotools", "einops", "LoRA"):
        if not os.path.isdir(os.path.join(src, d)):
            sys.exit(f"run_original.py: {src}/{d} is missing (see bench_original.py for the layout)")
    sys.path[:0] = [HERE] + [os.path.join(src, d) for d in ("vampnet", "lac", "audiotools", "einops", "LoRA")]
    import shims
    shims.install()

    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    from vampnet.interface import Interface

    codes = torch.from_numpy(np.load(a.codes).astype(np.int64))
    mask = torch.from_numpy(np.load(a.mask).astype(np.int64))
    if codes.dim() == 2:
        codes = codes.unsqueeze(0)
    if mask.dim() == 2:
        mask = mask.unsqueeze(0)

    t0 = time.perf_counter()
    # compile=False: torch.compile does not exist in torch 1.13 (and the app's CPU path gains
    # nothing from it here); wavebeat_ckpt=None: the beat tracker is not part of this work.
    interface = Interface(coarse_ckpt=a.coarse, coarse2fine_ckpt=a.c2f, codec_ckpt=a.codec,
                          wavebeat_ckpt=None, device="cpu", compile=False)
    load_s = time.perf_counter() - t0

    # Window sizes are given to the Interface in seconds and turned into frames with
    # ceil(s * sr / hop); pick seconds that give exactly the requested frame count.
    sr, hop = interface.codec.sample_rate, interface.codec.hop_length

    def seconds_for(frames):
        s = (frames - 0.5) * hop / sr
        assert interface.s2t(s) == frames
        return s

    if a.coarse_window_frames:
        interface.coarse.chunk_size_s = seconds_for(a.coarse_window_frames)
    if a.c2f_window_frames:
        interface.c2f.chunk_size_s = seconds_for(a.c2f_window_frames)
    coarse_frames = interface.s2t(interface.coarse.chunk_size_s)
    c2f_frames = interface.s2t(interface.c2f.chunk_size_s)

    # Time the c2f stage by wrapping the bound method; it runs unchanged.
    c2f_time = []
    original_c2f = interface.coarse_to_fine

    def timed_c2f(*args, **kwargs):
        t = time.perf_counter()
        r = original_c2f(*args, **kwargs)
        c2f_time.append(time.perf_counter() - t)
        return r

    interface.coarse_to_fine = timed_c2f

    t0 = time.perf_counter()
    with torch.inference_mode():
        out = interface.vamp(codes, mask, batch_size=1, _sampling_steps=a.steps, seed=a.seed)
    generate_s = time.perf_counter() - t0
    np.save(a.out, out.cpu().numpy().astype(np.int64))

    print(json.dumps({
        "side": "original",
        "load_s": round(load_s, 3),
        "generate_s": round(generate_s, 3),
        "coarse_s": round(generate_s - sum(c2f_time), 3),
        "c2f_s": round(sum(c2f_time), 3),
        "in_process_s": round(time.perf_counter() - t_start, 3),
        "threads": torch.get_num_threads(),
        "frames": int(codes.shape[-1]),
        "coarse_window_frames": coarse_frames,
        "c2f_window_frames": c2f_frames,
        "out_shape": list(out.shape),
        "torch": torch.__version__,
        "stubbed": shims.used(),
    }), flush=True)


if __name__ == "__main__":
    main()
