#!/usr/bin/python3
"""Hostile-input probes (issue 17): corrupted token files, .npy and WAV files and caps misuse,
run through the plugin (pull and push) and vamp-cli, each in its own process.

Pipelines run in a minimal application (LAUNCHER below: parse, PLAYING, wait for EOS or the first
ERROR, NULL), not gst-launch-1.0: gst-launch 1.22 sometimes stays in its main loop after an error
raised during preroll, with the sink waiting in preroll and no element thread running, which would
count as a hang that is not the plugin's.

Every case is classified: crash (killed by a signal), hang (past the timeout), error (a clean
error exit) or accepted; each run's peak RSS is recorded, the error message a user sees is kept
and flagged when it is one of GStreamer's generic ones, and every token file vampsample writes is
checked for tokens outside [0, codebook-size). Prints a summary and exits 1 on any crash, hang,
allocation over the limit, out-of-range token or generic error.

    tests/tools/hostile_probes.py --build build [--jobs 2] [--timeout 60] [--keep DIR]
"""
import argparse
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

GENERIC = ("Internal data stream error", "negotiation problem", "No valid frames found",
           "Could not determine type of stream")
RSS_LIMIT_MB = 2048


def is_generic(msg):
    """An error of ours that does not say what to fix (others' errors carry their element)."""
    ours = not msg.startswith("/GstPipeline")
    return ours and (not msg or any(x in msg for x in GENERIC))


def run(cmd, timeout, stdin=None, env=None):
    """(outcome, rc, seconds, peak RSS MB, message) of one process."""
    t0 = time.monotonic()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin:
        p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            return "hang", None, time.monotonic() - t0, 0, out.decode(errors="replace")[-300:]
    text = out.decode(errors="replace")
    # Our messages: vamp-cli's, or an error posted by one of the plugin's elements (another
    # element's generic error, e.g. audiotestsrc's not-negotiated, is GStreamer's own).
    m = re.search(r"(?:^ERROR: from element \S*(?:[Vv]amp)\S*: |error: )(.*)$", text, re.M) or \
        re.search(r"^ERROR: from element (\S+: .*)$", text, re.M)
    rss = 0
    m_rss = re.search(r"^VAMP_PROBE_RSS_KB (\d+)$", text, re.M)
    if m_rss:
        rss = int(m_rss.group(1)) // 1024
    rc = p.returncode
    # /usr/bin/time reports the child's signal as "Command terminated by signal N".
    if rc < 0 or re.search(r"Command terminated by signal", text):
        return "crash", rc, time.monotonic() - t0, rss, text[-400:]
    return ("error" if rc else "accepted"), rc, time.monotonic() - t0, rss, m.group(1) if m else ""


def timed(cmd):
    return ["/usr/bin/time", "-f", "VAMP_PROBE_RSS_KB %M"] + cmd


LAUNCHER = r"""
import sys
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
try:
    p = Gst.parse_launch(sys.argv[1])
except Exception as e:
    print("ERROR: could not build the pipeline:", e)
    sys.exit(1)
p.set_state(Gst.State.PLAYING)
m = p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.ERROR | Gst.MessageType.EOS)
rc = 0
if m.type == Gst.MessageType.ERROR:
    err, dbg = m.parse_error()
    print("ERROR: from element %s: %s\n%s" % (m.src.get_path_string(), err.message, dbg))
    rc = 1
p.set_state(Gst.State.NULL)
sys.exit(rc)
"""


# ---- token files ---------------------------------------------------------------------------------

def vtok_parts(data):
    n = struct.unpack_from("<I", data, 8)[0]
    return data[:12], data[12:12 + n].decode(), data[12 + n:]


def vtok(caps, body, version=1, n=None):
    c = caps.encode() if isinstance(caps, str) else caps
    return b"VTOK" + struct.pack("<HHI", version, 0, len(c) if n is None else n) + c + body


def set_field(caps, name, value):
    if value is None:
        return re.sub(r", %s=\([a-z]+\)[^,]*" % name, "", caps)
    return re.sub(r"(%s=\([a-z]+\))[^,]*" % name, r"\g<1>%s" % value, caps)


def token_file_cases(plain, masked, rng):
    cases = {"empty": b""}
    for label, data in (("plain", plain), ("masked", masked)):
        head, caps, body = vtok_parts(data)
        hdr = 12 + len(caps.encode())
        for cut in sorted(set(rng.sample(range(1, hdr + 40), 45) + [4, 8, 11, 12, hdr - 1, hdr])):
            cases[f"{label}-cut{cut}"] = data[:cut]
        for cut in rng.sample(range(hdr + 1, len(data)), 15):
            cases[f"{label}-cutbody{cut}"] = data[:cut]
        for pos in range(12):
            for v in (0x00, 0xFF, rng.randrange(256)):
                b = bytearray(data)
                b[pos] = v
                cases[f"{label}-hdr{pos}={v:02x}"] = bytes(b)
        for i in range(40):
            b = bytearray(data)
            pos = rng.randrange(12, hdr)
            b[pos] = rng.choice([0x00, 0xFF, 0xC3, 0x80, ord(","), ord("="), ord("("), rng.randrange(256)])
            cases[f"{label}-caps{i}@{pos}"] = bytes(b)
        for n in (0, 1, 4096, 4097, 0xFFFFFFFF, 0x7FFFFFFF, len(caps) - 1, len(caps) + 1):
            cases[f"{label}-len{n}"] = vtok(caps, body, n=n)
        for ver in (0, 2, 0xFFFF):
            cases[f"{label}-version{ver}"] = vtok(caps, body, version=ver)
        fields = {
            "codebooks": ["0", "1", "4", "13", "15", "16", "64", "65", "-1", "99999999999"],
            "codebook-size": ["0", "1", "512", "1023", "1025", "65535", "65536", "-5"],
            "rate": ["0", "1", "48000", "-1", "2147483647"],
            "hop-length": ["0", "1", "767", "-1"],
            "framerate": ["0/1", "1/0", "57/1", "-1/1"],
            "mask": ["none", "plane", "foo"],
            "format": ["U8", "S16LE"],
            "layout": ["planar"],
            "codec-id": ["0", "deadbeef"],
        }
        for name, values in fields.items():
            for v in values:
                cases[f"{label}-{name}={v}"] = vtok(set_field(caps, name, v), body)
            cases[f"{label}-no-{name}"] = vtok(set_field(caps, name, None), body)
        cases[f"{label}-caps-garbage"] = vtok("audio/x-vamp-tokens, ((((", body)
        cases[f"{label}-other-media"] = vtok("audio/x-raw, rate=(int)44100", body)
        k = int(re.search(r"codebooks=\(int\)(\d+)", caps).group(1))
        frame = 3 * k if "mask=(string)plane" in caps else 2 * k
        for v in (1024, 65535):
            b = bytearray(body)
            for _ in range(5):
                i = rng.randrange(len(body) // frame) * frame + 2 * rng.randrange(k)
                struct.pack_into("<H", b, i, v)
            cases[f"{label}-token{v}"] = head + caps.encode() + bytes(b)
        if frame == 3 * k:
            b = bytearray(body)
            for f in range(0, len(b), frame):
                b[f + 2 * k + rng.randrange(k)] = rng.choice([2, 255])
            cases[f"{label}-maskbytes"] = head + caps.encode() + bytes(b)
    for i in range(30):
        cases[f"garbage{i}"] = rng.randbytes(rng.choice([1, 7, 12, 100, 5000, 100000]))
        cases[f"magic-garbage{i}"] = b"VTOK" + rng.randbytes(rng.choice([0, 4, 8, 60, 4000]))
    return cases


def read_tokens(path):
    """(codebook-size, tokens) of a token file vampsample's output was stored in."""
    data = open(path, "rb").read()
    if len(data) < 12:
        return None, []
    _, caps, body = vtok_parts(data)
    size = int(re.search(r"codebook-size=\(int\)(\d+)", caps).group(1))
    k = int(re.search(r"codebooks=\(int\)(\d+)", caps).group(1))
    frame = 3 * k if "mask=(string)plane" in caps else 2 * k
    toks = []
    for f in range(0, len(body) - frame + 1, frame):
        toks += struct.unpack_from("<%dH" % k, body, f)
    return size, toks


# ---- .npy and WAV files --------------------------------------------------------------------------

def npy(header, body, magic=b"\x93NUMPY", version=b"\x01\x00", hlen=None):
    h = header.encode("latin1")
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return magic + version + struct.pack("<H", len(h) if hlen is None else hlen) + h + body


def npy_cases(rng):
    k, t = 14, 40
    body = b"".join(struct.pack("<q", rng.randrange(1024)) for _ in range(k * t))
    good = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, %d, %d), }" % (k, t)
    cases = {"valid": npy(good, body)}
    full = cases["valid"]
    for cut in sorted(set(rng.sample(range(0, len(full)), 40) + [0, 6, 8, 10, 11, 70])):
        cases[f"cut{cut}"] = full[:cut]
    for hlen in (0, 1, 65535, 60000):
        cases[f"hlen{hlen}"] = npy(good, body, hlen=hlen)
    for v in (b"\x02\x00", b"\x03\x00", b"\x09\x09"):
        cases[f"version{v[0]}"] = npy(good, body, version=v)
    cases["magic"] = npy(good, body, magic=b"\x93NUMPZ")
    shapes = ["(a, b)", "(-1, 14, 40)", "(99999999999, 99999999999)", "(1, 14, 99999999999)",
              "()", "(1,)", "(1, 14, 40, 2)", "(1, 0, 40)", "(1, 14, 0)", "(1, 14, 4e1)",
              "(1, 14, 40", "1, 14, 40)", "(1, 65, 40)", "(1, 14, 18446744073709551615)"]
    for s in shapes:
        cases[f"shape{s}"] = npy(good.replace("(1, %d, %d)" % (k, t), s), body)
    for d in ("<f4", "<i4", "<u2", "|b1", ">i8", "<c16", "O", "'<i8"):
        cases[f"descr{d}"] = npy(good.replace("<i8", d), body)
    cases["fortran"] = npy(good.replace("False", "True"), body)
    cases["header-garbage"] = npy("not a dict at all", body)
    cases["header-nonascii"] = npy(good.replace("descr", "d\xe9scr"), body)
    for v in (1024, 65535, -1, 2 ** 62):
        b = bytearray(body)
        struct.pack_into("<q", b, 8 * rng.randrange(k * t), v)
        cases[f"token{v}"] = npy(good, bytes(b))
    for i in range(15):
        cases[f"garbage{i}"] = rng.randbytes(rng.choice([5, 64, 1000]))
    return cases


def wav(rate=44100, channels=1, bits=32, fmt=3, samples=None, data_size=None, riff_size=None,
        extra=b""):
    samples = samples if samples is not None else [0.1 * ((i % 100) / 50 - 1) for i in range(44100)]
    if fmt == 3:
        body = b"".join(struct.pack("<f", s) for s in samples)
    else:
        body = b"".join(struct.pack("<h", int(s * 32767)) for s in samples)
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + extra
    chunks += b"data" + struct.pack("<I", len(body) if data_size is None else data_size) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) if riff_size is None else riff_size) + \
        b"WAVE" + chunks


def wav_cases(rng):
    good = wav()
    cases = {"valid": good, "empty-data": wav(samples=[]), "one-sample": wav(samples=[0.5])}
    for cut in sorted(set(rng.sample(range(0, 200), 25) + [0, 4, 12, 20, 36, 44])):
        cases[f"cut{cut}"] = good[:cut]
    cases.update({
        "rate0": wav(rate=0), "rate48000": wav(rate=48000), "rate-huge": wav(rate=0xFFFFFFFF),
        "channels0": wav(channels=0), "channels2": wav(channels=2), "channels65535": wav(channels=65535),
        "bits8": wav(bits=8, fmt=1), "bits24": wav(bits=24, fmt=1), "bits0": wav(bits=0),
        "pcm16": wav(fmt=1, bits=16), "fmt-alaw": wav(fmt=6, bits=8), "fmt-extensible": wav(fmt=0xFFFE),
        "data-huge": wav(data_size=0xFFFFFFF0), "riff-huge": wav(riff_size=0xFFFFFFFF),
        "data-odd": wav(data_size=4 * 44100 - 1),
        "chunk-huge": wav(extra=b"LIST" + struct.pack("<I", 0xFFFFFFF0)),
        "chunk-odd": wav(extra=b"junk" + struct.pack("<I", 3) + b"abc"),
        "nan": wav(samples=[float("nan")] * 44100), "inf": wav(samples=[float("inf")] * 44100),
        "loud": wav(samples=[1e30] * 44100),
    })
    for i in range(15):
        cases[f"garbage{i}"] = b"RIFF" + rng.randbytes(rng.choice([8, 40, 1000]))
    return cases


# ---- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--keep", help="write the cases here and keep them")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    cli = os.path.join(build, "engine", "vamp-cli")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    models = os.path.join(root, "models", "default")
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build, "gst"), VAMPNET_MODELS=models)
    rng = random.Random(args.seed)
    work = args.keep or tempfile.mkdtemp(prefix="vamp-probes-")
    os.makedirs(work, exist_ok=True)
    launcher = os.path.join(work, "launch.py")
    open(launcher, "w").write(LAUNCHER)
    gst = ["/usr/bin/python3", launcher]
    lang = {"codec": os.path.join(models, "codec.pth")}

    def launch(desc, stdin=None):
        return lambda: run(timed(gst + [desc]), args.timeout, stdin, env)

    # Valid material: 3 s of a chord, encoded, stored plain and masked.
    src = "audiotestsrc wave=sine freq=220 num-buffers=130 samplesperbuffer=1024 ! " \
          "audio/x-raw,format=F32LE,rate=44100,channels=1 ! vampenc"
    plain_path, masked_path = os.path.join(work, "plain.vtok"), os.path.join(work, "masked.vtok")
    for desc in (f"{src} ! vamptokfilemux ! filesink location={plain_path}",
                 f"{src} ! vampmask periodic-prompt=5 ! vamptokfilemux ! filesink location={masked_path}"):
        o = run(gst + [desc], 300, None, env)
        if o[0] != "accepted":
            sys.exit(f"cannot make the valid token files: {o}")

    jobs = []  # (group, case, thunk, output file to check or None)
    tok = token_file_cases(open(plain_path, "rb").read(), open(masked_path, "rb").read(), rng)
    sample_cases = set(rng.sample(sorted(tok), 60)) | {k for k in tok if "token" in k or "maskbytes" in k}
    for name, data in tok.items():
        f = os.path.join(work, "tok-" + re.sub(r"[^A-Za-z0-9=@.-]", "_", name) + ".vtok")
        open(f, "wb").write(data)
        jobs.append(("vtok pull", name, launch(f"filesrc location={f} ! vampparse ! vampdec ! fakesink"), None))
        jobs.append(("vtok push", name, launch("fdsrc fd=0 ! vampparse ! vampdec ! fakesink", f), None))
        if name in sample_cases:
            out = f + ".out.vtok"
            jobs.append(("vtok sample", name, launch(
                f"filesrc location={f} ! vampparse ! vampmask ! vampsample steps=4 "
                f"! vamptokfilemux ! filesink location={out}"), out))
    for name, data in npy_cases(rng).items():
        f = os.path.join(work, "npy-" + re.sub(r"[^A-Za-z0-9=.-]", "_", name) + ".npy")
        open(f, "wb").write(data)
        jobs.append(("npy decode", name, lambda f=f: run(timed(
            [cli, "decode", "--codec", lang["codec"], "--in", f, "--out", f + ".wav"]), args.timeout, None, env), None))
        jobs.append(("npy mask", name, lambda f=f: run(timed(
            [cli, "mask", "--codes", f, "--out", f + ".m.npy"]), args.timeout, None, env), None))
    for name, data in wav_cases(rng).items():
        f = os.path.join(work, "wav-" + re.sub(r"[^A-Za-z0-9=.-]", "_", name) + ".wav")
        open(f, "wb").write(data)
        jobs.append(("wav encode", name, lambda f=f: run(timed(
            [cli, "encode", "--codec", lang["codec"], "--in", f, "--out", f + ".npy"]), args.timeout, None, env), None))
        jobs.append(("wav vamp", name, lambda f=f: run(timed(
            [cli, "vamp", "--coarse", os.path.join(models, "coarse.pth"), "--c2f",
             os.path.join(models, "c2f.pth"), "--codec", lang["codec"], "--in", f, "--out",
             f + ".out.npy", "--steps", "2", "--seed", "1"]), args.timeout, None, env), None))
        jobs.append(("wav beats-audio", name, launch(
            f"{src} ! vampmask beats-audio={f} beat-mask-width=50000000 ! fakesink"), None))
    caps = "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=none,rate=44100,hop-length=768,framerate=11025/192"
    misuse = {
        "zero-length chain": "audiotestsrc num-buffers=0 ! audio/x-raw,format=F32LE,rate=44100,channels=1 ! vampenc ! vampmask ! vampsample ! vampdec ! fakesink",
        "rate 48000 into vampenc": "audiotestsrc num-buffers=10 ! audio/x-raw,format=F32LE,rate=48000,channels=1 ! vampenc ! fakesink",
        "stereo into vampenc": "audiotestsrc num-buffers=10 ! audio/x-raw,format=F32LE,rate=44100,channels=2 ! vampenc ! fakesink",
        "S16 into vampenc": "audiotestsrc num-buffers=10 ! audio/x-raw,format=S16LE,rate=44100,channels=1 ! vampenc ! fakesink",
        "no mask into vampsample": f"{src} ! vampsample ! fakesink",
        "audio into vampdec": "audiotestsrc num-buffers=10 ! vampdec ! fakesink",
        "hand caps 4 codebooks": f"{src} ! fakesink",  # replaced below
        "bytes into vampdec": f"filesrc location={plain_path} ! capsfilter caps={caps},codebooks=14,codebook-size=1024 ! vampdec ! fakesink",
        "wav into vampparse": f"audiotestsrc num-buffers=10 ! wavenc ! vampparse ! fakesink",
        "missing model": f"{src} ! vampmask ! vampsample coarse-model=/nonexistent.pth ! fakesink",
        "codec as transformer": f"{src} ! vampmask ! vampsample coarse-model={lang['codec']} ! fakesink",
        "transformer as codec": f"audiotestsrc num-buffers=10 ! audio/x-raw,format=F32LE,rate=44100,channels=1 ! vampenc model={os.path.join(models, 'coarse.pth')} ! fakesink",
        "empty file as model": f"{src} ! vampdec model={os.path.join(work, 'tok-empty.vtok')} ! fakesink",
        "token file as model": f"{src} ! vampdec model={plain_path} ! fakesink",
        "bad device": f"{src} ! vampdec device=tpu ! fakesink",
        "cuda without GPU": f"{src} ! vampdec device=cuda ! fakesink",
    }
    misuse["hand caps 4 codebooks"] = (f"filesrc location={plain_path} ! vampparse ! capssetter "
                                       f"caps=audio/x-vamp-tokens,codebooks=4 ! vampdec ! fakesink")
    for name, desc in misuse.items():
        jobs.append(("misuse", name, launch(desc), None))

    results = []
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [(g, n, pool.submit(thunk), out) for g, n, thunk, out in jobs]
        for g, n, fut, out in futures:
            outcome, rc, secs, rss, msg = fut.result()
            bad_tokens = 0
            if out and outcome == "accepted" and os.path.exists(out):
                size, toks = read_tokens(out)
                bad_tokens = sum(1 for x in toks if size is None or x >= size)
            results.append((g, n, outcome, rss, msg, bad_tokens, secs))
    wall = time.monotonic() - t0

    groups = {}
    for g, n, outcome, rss, msg, bad, secs in results:
        d = groups.setdefault(g, {"cases": 0, "crash": 0, "hang": 0, "error": 0, "accepted": 0,
                                  "max_rss": 0, "generic": 0, "bad_tokens": 0})
        d["cases"] += 1
        d[outcome] += 1
        d["max_rss"] = max(d["max_rss"], rss)
        d["generic"] += outcome == "error" and is_generic(msg)
        d["bad_tokens"] += bad
    print(f"{len(results)} cases in {wall:.0f} s")
    print(f"{'group':<16} {'cases':>5} {'crash':>5} {'hang':>5} {'error':>5} {'accept':>6} "
          f"{'generic':>7} {'badtok':>6} {'maxRSS':>7}")
    for g, d in groups.items():
        print(f"{g:<16} {d['cases']:>5} {d['crash']:>5} {d['hang']:>5} {d['error']:>5} "
              f"{d['accepted']:>6} {d['generic']:>7} {d['bad_tokens']:>6} {d['max_rss']:>5}MB")
    messages = {}
    for g, n, outcome, rss, msg, bad, secs in results:
        if outcome == "error":
            messages.setdefault(msg, []).append(f"{g}:{n}")
    print("\nerror messages (count, example case):")
    for msg, where in sorted(messages.items(), key=lambda x: -len(x[1])):
        print(f"  {len(where):4d}  {msg[:150]!s}   [{where[0]}]")
    failures = [r for r in results
                if r[2] in ("crash", "hang") or r[3] > RSS_LIMIT_MB or r[5]
                or (r[2] == "error" and is_generic(r[4]))]
    for g, n, outcome, rss, msg, bad, secs in failures:
        print(f"FAIL {g}:{n}: {outcome} rss={rss}MB bad_tokens={bad} {msg[:300]!r}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
