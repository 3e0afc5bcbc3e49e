#!/usr/bin/python3
"""Loss concealment over RTP, measured (issue 18): each clip is encoded, sent through
rtpvamppay ! netsim drop-probability=P ! rtpvampdepay, and the frames that never arrived are
filled three ways from the same received stream: generatively (vampsample inpaints the masked
placeholder frames), by repeating the last frame received, and with silence. Each output's
log-mel distance to the lossless output (the codec round trip of the same tokens) is printed,
per loss rate, as the mean over clips (vamp-train compare; lower is closer).

    tests/bench_concealment.py [--build build] [--models models/default] [--frames-per-packet 3]
        [--loss 0,0.05,0.1,0.2] [--steps 24] CLIP.wav...
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile


def launch(desc, env):
    subprocess.run(["gst-launch-1.0", "-q"] + desc.split(), check=True, env=env,
                   stdout=subprocess.DEVNULL)


def lost_frames(vtok_path):
    """Indices of the frames whose every mask byte is 1 (rtpvampdepay's placeholders)."""
    data = open(vtok_path, "rb").read()
    n = struct.unpack_from("<I", data, 8)[0]
    caps = data[12:12 + n].decode()
    k = int(re.search(r"codebooks=\(int\)(\d+)", caps).group(1))
    body = data[12 + n:]
    return [i for i in range(len(body) // (3 * k))
            if all(body[i * 3 * k + 2 * k + c] == 1 for c in range(k))], len(body) // (3 * k)


def silence_frames(wav_in, wav_out, frames, hop):
    """wav_in (float32 mono, as wavenc writes it) with the samples of `frames` zeroed."""
    data = bytearray(open(wav_in, "rb").read())
    at = data.index(b"data") + 8
    for f in frames:
        a, b = at + 4 * f * hop, min(len(data), at + 4 * (f + 1) * hop)
        data[a:b] = bytes(max(0, b - a))
    open(wav_out, "wb").write(bytes(data))


def mel(train, ref, tests, env):
    out = subprocess.run([train, "compare", "--threads", "2", "--ref", ref] + tests, check=True,
                         env=env, capture_output=True, text=True).stdout.splitlines()[1:]
    return [float(line.split()[1]) for line in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default="models/default")
    ap.add_argument("--frames-per-packet", type=int, default=3)
    ap.add_argument("--loss", default="0,0.05,0.1,0.2")
    ap.add_argument("--steps", type=int, default=24)
    args = ap.parse_args()
    build, models = os.path.abspath(args.build), os.path.abspath(args.models)
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build, "gst"))
    train = os.path.join(build, "engine", "vamp-train")
    codec = f"model={models}/codec.pth"
    sample = (f"vampsample coarse-model={models}/coarse.pth c2f-model={models}/c2f.pth "
              f"codec-model={models}/codec.pth steps={args.steps} seed=1")
    to_wav = "audioconvert ! audio/x-raw,format=F32LE ! wavenc"
    losses = [float(x) for x in args.loss.split(",")]
    rows = {p: {"inpaint": [], "repeat": [], "silence": [], "lost": []} for p in losses}
    with tempfile.TemporaryDirectory(prefix="vamp-conceal-") as tmp:
        for ci, clip in enumerate(args.clips):
            tok, ref = f"{tmp}/c{ci}.vtok", f"{tmp}/c{ci}-lossless.wav"
            launch(f"filesrc location={os.path.abspath(clip)} ! decodebin ! audioconvert ! "
                   f"audioresample ! audio/x-raw,channels=1,rate=44100 ! vampenc {codec} ! "
                   f"vamptokfilemux ! filesink location={tok}", env)
            launch(f"filesrc location={tok} ! vampparse ! vampdec {codec} ! {to_wav} ! "
                   f"filesink location={ref}", env)
            for p in losses:
                lost, outs = f"{tmp}/c{ci}-{p}.vtok", {}
                launch(f"filesrc location={tok} ! vampparse frames-per-buffer={args.frames_per_packet} ! "
                       f"rtpvamppay ! netsim drop-probability={p} ! rtpvampdepay ! vamptokfilemux ! "
                       f"filesink location={lost}", env)
                frames, total = lost_frames(lost)
                outs["inpaint"] = f"{tmp}/c{ci}-{p}-inpaint.wav"
                launch(f"filesrc location={lost} ! vampparse ! {sample} ! vampdec {codec} ! {to_wav} ! "
                       f"filesink location={outs['inpaint']}", env)
                outs["repeat"] = f"{tmp}/c{ci}-{p}-repeat.wav"  # the placeholders repeat the last frame
                launch(f"filesrc location={lost} ! vampparse ! vampdec {codec} ! {to_wav} ! "
                       f"filesink location={outs['repeat']}", env)
                outs["silence"] = f"{tmp}/c{ci}-{p}-silence.wav"
                silence_frames(outs["repeat"], outs["silence"], frames, 768)
                for name, d in zip(("inpaint", "repeat", "silence"), mel(train, ref, list(outs.values()), env)):
                    rows[p][name].append(d)
                rows[p]["lost"].append(len(frames) / max(1, total))
                print(f"clip {ci} loss {p}: {len(frames)}/{total} frames lost", file=sys.stderr)
    print(f"log-mel distance to the lossless output, mean of {len(args.clips)} clips, "
          f"{args.frames_per_packet} frames per packet")
    print(f"{'packet loss':>11} {'frames lost':>11} {'inpaint':>8} {'repeat':>8} {'silence':>8}")
    mean = lambda v: sum(v) / len(v)
    for p in losses:
        r = rows[p]
        print(f"{p:>11.0%} {mean(r['lost']):>11.1%} {mean(r['inpaint']):>8.3f} "
              f"{mean(r['repeat']):>8.3f} {mean(r['silence']):>8.3f}")


if __name__ == "__main__":
    main()
