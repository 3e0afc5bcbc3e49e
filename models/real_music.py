#!/usr/bin/python3
"""Prepare hours of real recorded music with free licenses from Debian packages.

Usage:
    python3 models/real_music.py OUTDIR [--packages P,Q,...] [--timeout S]

    e.g. python3 models/real_music.py data-real

Fetches the game-music packages below with `apt-get download` into OUTDIR/.debs/ (no root,
nothing installed), unpacks each with `dpkg-deb -x` into OUTDIR/.debs/<package>/, reads each
package's copyright file (and Warzone 2100's album license.txt files) to find every track's
license, keeps the tracks whose license lets us train on them and redistribute the weights,
decodes them with gst-launch-1.0 to 44.1 kHz mono 16-bit WAV and writes

    OUTDIR/train/<short>-<track>.wav            training tracks, whole
    OUTDIR/heldout/<short>-<track>.wav          held-out tracks, whole
    OUTDIR/heldout-clips/<short>-<track>-at30.wav, -at65.wav
                                                15 s from 30% and 65% into each held-out track
                                                (no -at65 for tracks under 40 s)
    OUTDIR/manifest.tsv                         one row per WAV: package, version, source file
                                                (path inside the package), license, duration_s,
                                                split (train, heldout, heldout-clip), wav (path
                                                relative to OUTDIR), title, author
    OUTDIR/excluded.tsv                         files left out and why
    OUTDIR/licenses/                            the copyright and license files we read

Packages (short name, what, license as their copyright files give it):
    wesnoth     wesnoth-1.16-music          orchestral (Vorbis)        GPL-2+
    wz2100      warzone2100-music           electronic, ambient (Opus) GPL-2+; the Legacy and
                                            Aftermath albums also CC-BY-SA-3.0+
    hyperrogue  hyperrogue-music            orchestral, world, ambient CC-BY-SA-3.0
    fof-muldjord  fretsonfire-songs-muldjord  metal (song + guitar stems, mixed here) CC-BY-SA-3.0
    fof-sectoid   fretsonfire-songs-sectoid   rock, metal (stems, mixed here)         Expat (MIT)

Tracks shorter than 20 s are skipped. Near-duplicates are grouped (Warzone's "_enhanced"
remasters with their originals; Wesnoth's victory/victory2, defeat/defeat2, frantic/frantic-old)
and a group goes whole to train or to held-out. The split is per package: groups in the order
of sha1("<short>/<group>"), taken into held-out until about 10% of the package's duration is
held out, at least one group for a package with three or more groups.

Re-runs are cheap: a .deb already in OUTDIR/.debs/ is not downloaded again, an unpacked
package is not unpacked again, and a decoded track (OUTDIR/.decoded/, hard-linked into
train/ or heldout/) is not decoded again. Decoding runs one gst-launch-1.0 at a time, niced.

Needs /usr/bin/python3 (standard library only), apt-get and dpkg-deb, and gst-launch-1.0
(gstreamer1.0-tools) with the Vorbis and Opus decoders (gstreamer1.0-plugins-base).
See docs/training-data.md for the attribution the licenses ask for.
"""

import argparse
import array
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import wave

RATE = 44100
MIN_TRACK_S = 20.0
CLIP_S = 15.0
CLIP_AT = (0.30, 0.65)
MIN_SECOND_CLIP_TRACK_S = 40.0
HELDOUT_SHARE = 0.10
MIN_GROUPS_FOR_HELDOUT = 3

# A track is kept when one alternative of its license expression ("A OR B") is made only of
# licenses from this list: they all allow training on the audio and redistributing the
# resulting weights (with attribution, and share-alike for the BY-SA ones).
FREE = {
    "GPL-2+", "GPL-2", "GPL-3+", "GPL-3", "LGPL-2+", "LGPL-2.1+",
    "CC-BY-SA-3.0", "CC-BY-SA-3.0+", "CC-BY-SA-4.0", "CC-BY-3.0", "CC-BY-4.0",
    "CC0", "CC0-1.0", "Expat", "MIT", "BSD-2-Clause", "BSD-3-Clause", "public-domain",
}


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------- small parsers

def license_ok(expr):
    """True if some OR-alternative of a license expression uses only FREE licenses."""
    for alt in re.split(r"\s+or\s+", expr, flags=re.I):
        parts = [p.strip(" ()") for p in re.split(r"\s+and\s+", alt, flags=re.I)]
        if parts and all(p in FREE for p in parts):
            return True
    return False


def parse_dep5(text):
    """Machine-readable debian/copyright: list of (patterns, copyright, license) per Files stanza."""
    stanzas, cur, key = [], {}, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, key = {}, None
        elif line[0] in " \t":
            if key:
                cur[key] += "\n" + line.strip()
        elif ":" in line:
            key, val = line.split(":", 1)
            key = key.strip().lower()
            cur[key] = val.strip()
    out = []
    for s in stanzas:
        if "files" in s and "license" in s:
            out.append((s["files"].split(), s.get("copyright", "").replace("\n", "; "),
                        s["license"].split("\n")[0].strip()))
    return out


def dep5_lookup(stanzas, path):
    """(copyright, license) of the last Files stanza matching path (a path in the source tree
    is usually a suffix of the installed path, so a pattern may match any suffix)."""
    hit = None
    for patterns, copyright_, lic in stanzas:
        for pat in patterns:
            if fnmatch.fnmatchcase(path, pat) or fnmatch.fnmatchcase(path, "*/" + pat):
                hit = (copyright_, lic)
    return hit


def ogg_tags(path):
    """Vorbis comments of an Ogg Vorbis or Opus file, keys upper-cased ({} if none)."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 18)
        packets, cur, pos = [], b"", 0
        while pos + 27 <= len(data) and len(packets) < 2:
            if data[pos:pos + 4] != b"OggS":
                return {}
            nseg = data[pos + 26]
            lacing = data[pos + 27:pos + 27 + nseg]
            p = pos + 27 + nseg
            for n in lacing:
                cur += data[p:p + n]
                p += n
                if n < 255:
                    packets.append(cur)
                    cur = b""
                    if len(packets) == 2:
                        break
            pos += 27 + nseg + sum(lacing)
        c = packets[1]
        c = c[7:] if c.startswith(b"\x03vorbis") else c[8:] if c.startswith(b"OpusTags") else None
        if c is None:
            return {}
        q = 4 + struct.unpack("<I", c[:4])[0]          # skip the vendor string
        count = struct.unpack("<I", c[q:q + 4])[0]
        q += 4
        tags = {}
        for _ in range(count):
            n = struct.unpack("<I", c[q:q + 4])[0]
            k, _, v = c[q + 4:q + 4 + n].decode("utf-8", "replace").partition("=")
            tags.setdefault(k.upper(), v)
            q += 4 + n
        return tags
    except (OSError, IndexError, struct.error):
        return {}


def ini_values(path):
    vals = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "=" in line:
                k, v = line.split("=", 1)
                vals[k.strip().lower()] = v.strip()
    return vals


def slug(s):
    return re.sub(r"[^a-z0-9_-]+", "_", s.lower()).strip("_")


class Track:
    def __init__(self, name, sources, license_, title, author, group):
        self.name = name            # file name stem: <short>-<track>
        self.sources = sources      # absolute paths in the unpacked package (stems are mixed)
        self.license = license_
        self.title = title
        self.author = author
        self.group = group          # near-duplicates share a group and a split
        self.pkg = None
        self.duration = None


# ------------------------------------------------------------------ per-package track lists
# Each returns (tracks, excluded) where excluded is a list of (path, reason). Each checks the
# copyright text it relies on and keeps nothing if that text is not as expected.

def rel(root, path):
    return "/" + os.path.relpath(path, root)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def tracks_wesnoth(root, pkg):
    text = read(os.path.join(root, "usr/share/doc", pkg, "copyright"))
    gpl = re.search(r"GNU General Public License version 2\s+or at your option any later version",
                    text)
    files = sorted(glob.glob(os.path.join(root, "usr/share/games/wesnoth/*/data/core/music/*.ogg")))
    if not gpl:
        return [], [(rel(root, p), "copyright file no longer says GPL-2+: review") for p in files]
    tracks = []
    for p in files:
        stem = os.path.splitext(os.path.basename(p))[0]
        tags = ogg_tags(p)
        # victory/victory2, defeat/defeat2, frantic/frantic-old are variants of one piece
        group = re.sub(r"([-_]old|\d+)$", "", stem)
        tracks.append(Track("wesnoth-" + slug(stem), [p], "GPL-2+", tags.get("TITLE", stem),
                            tags.get("COMPOSER") or tags.get("ARTIST") or "Wesnoth Project",
                            group))
    return tracks, []


def tracks_warzone(root, pkg):
    stanzas = parse_dep5(read(os.path.join(root, "usr/share/doc", pkg, "copyright")))
    music = os.path.join(root, "usr/share/games/warzone2100/music")
    files = sorted(glob.glob(os.path.join(music, "**/*.opus"), recursive=True)
                   + glob.glob(os.path.join(music, "**/*.ogg"), recursive=True))
    albums = {}   # album dir -> (license.txt text or None, album.json or {})
    tracks, excluded = [], []
    for p in files:
        r = rel(root, p)
        base_cr, base_lic = dep5_lookup(stanzas, r.lstrip("/")) or ("", "")
        stem = os.path.splitext(os.path.basename(p))[0]
        d = os.path.dirname(p)
        if d not in albums:
            lt = os.path.join(d, "license.txt")
            aj = os.path.join(d, "album.json")
            albums[d] = (read(lt) if os.path.exists(lt) else None,
                         json.load(open(aj, encoding="utf-8")) if os.path.exists(aj) else {})
        lictext, album = albums[d]
        info = next((t for t in album.get("tracks", []) if t.get("filename") == os.path.basename(p)),
                    {})
        lic = base_lic
        if lictext is not None:
            head = lictext.split("[EN]")[0]
            dual = ("CC-BY-SA-3.0 (or, at your discretion, any later version)" in head
                    and "GNU General Public License Version 2 or later" in head)
            m = re.search(r"except\*?\s+(\S+?):", head)
            if m and m.group(1) == stem:
                # "track3_enhanced is derived from ... original_soundtrack/track3, and is
                # licensed under the terms of the GNU General Public License Version 2 or later"
                lic = "GPL-2+" if re.search(re.escape(stem) + r" is derived from .*?General Public"
                                            r" License Version 2 or later", head, re.S) else ""
            elif dual:
                lic = "CC-BY-SA-3.0+ OR GPL-2+"
            else:
                lic = ""
        if not license_ok(lic):
            excluded.append((r, "license not recognised as free: %r" % (lic or "none")))
            continue
        author = info.get("author") or album.get("author") or base_cr
        title = info.get("title") or stem
        if album.get("title"):
            title = "%s (%s)" % (title, album["title"])
        tracks.append(Track("wz2100-" + slug(stem), [p], lic, title, author,
                            re.sub(r"_enhanced$", "", stem)))
    return tracks, excluded


def tracks_hyperrogue(root, pkg):
    stanzas = parse_dep5(read(os.path.join(root, "usr/share/doc", pkg, "copyright")))
    tracks, excluded = [], []
    for p in sorted(glob.glob(os.path.join(root, "usr/share/hyperrogue/music/*.ogg"))):
        r = rel(root, p)
        cr, lic = dep5_lookup(stanzas, r.lstrip("/")) or ("", "")
        if not license_ok(lic):
            excluded.append((r, "license not recognised as free: %r" % (lic or "none")))
            continue
        stem = os.path.splitext(os.path.basename(p))[0]
        tracks.append(Track("hyperrogue-" + slug(stem), [p], lic, stem, cr, stem))
    return tracks, excluded


def tracks_fof(short, expect, lic):
    def f(root, pkg):
        text = re.sub(r"\s+", " ", read(os.path.join(root, "usr/share/doc", pkg, "copyright")))
        dirs = sorted(d for d in glob.glob(os.path.join(
            root, "usr/share/games/fretsonfire/data/songs/*/*")) if os.path.isdir(d))
        if expect not in text:
            return [], [(rel(root, d), "copyright file changed: review") for d in dirs]
        tracks = []
        for d in dirs:
            # the game plays song.ogg (backing) and guitar.ogg (and rhythm.ogg if any) together
            stems = [os.path.join(d, n) for n in ("song.ogg", "guitar.ogg", "rhythm.ogg")
                     if os.path.exists(os.path.join(d, n))]
            ini = ini_values(os.path.join(d, "song.ini")) if os.path.exists(
                os.path.join(d, "song.ini")) else {}
            name = os.path.basename(d)
            tracks.append(Track(short + "-" + slug(name), stems, lic, ini.get("name", name),
                                ini.get("artist", ""), slug(name)))
        return tracks, []
    return f


PACKAGES = [  # (package, short name, track lister)
    ("wesnoth-1.16-music", "wesnoth", tracks_wesnoth),
    ("warzone2100-music", "wz2100", tracks_warzone),
    ("hyperrogue-music", "hyperrogue", tracks_hyperrogue),
    ("fretsonfire-songs-muldjord", "fof-muldjord",
     tracks_fof("fof-muldjord", "licenced under the terms of the Creative Commons Attribution "
                "ShareAlike licence 3.0", "CC-BY-SA-3.0")),
    ("fretsonfire-songs-sectoid", "fof-sectoid",
     tracks_fof("fof-sectoid", "Permission is hereby granted, free of charge, to any person "
                "obtaining a copy of this software and associated documentation files", "Expat")),
]

# The files we copy to OUTDIR/licenses/ (paths inside the package; globs).
LICENSE_FILES = [
    "usr/share/doc/*/copyright",
    "usr/share/games/warzone2100/music/albums/*/license.txt",
    "usr/share/games/warzone2100/music/albums/*/album.json",
    "usr/share/games/fretsonfire/data/songs/*/*/readme.txt",
]


# ----------------------------------------------------------------------- fetch and unpack

def fetch(pkg, debs):
    os.makedirs(debs, exist_ok=True)
    found = sorted(glob.glob(os.path.join(debs, pkg + "_*.deb")))
    if not found:
        log("downloading %s" % pkg)
        r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
        if r.returncode != 0:
            err = (r.stderr or r.stdout).strip()
            hint = ""
            if re.search(r"Unable to locate package|no installation candidate|Can't select|"
                         r"has no candidate|Unable to fetch", err):
                hint = ("\nThe package lists are probably missing or out of date: run "
                        "`sudo apt-get update` and try again.")
            sys.exit("apt-get download %s failed:\n%s%s" % (pkg, err, hint))
        found = sorted(glob.glob(os.path.join(debs, pkg + "_*.deb")))
        if not found:
            sys.exit("apt-get download %s wrote no .deb in %s" % (pkg, debs))
    if len(found) > 1:
        log("note: several .debs for %s, using %s" % (pkg, os.path.basename(found[-1])))
    deb = found[-1]
    version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    root = os.path.join(debs, pkg)
    stamp = os.path.join(debs, ".%s.unpacked" % pkg)
    if not (os.path.exists(stamp) and read(stamp).strip() == os.path.basename(deb)):
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        with open(stamp, "w") as f:
            f.write(os.path.basename(deb) + "\n")
    return root, version


# ------------------------------------------------------------------------------- decoding

def gst_decode(src, dst, timeout):
    """Decode src to a 44.1 kHz mono S16 WAV at dst (written via dst.part). True on success."""
    part = dst + ".part"
    cmd = ["nice", "-n", "10", "gst-launch-1.0", "-q", "filesrc", "location=" + src, "!",
           "decodebin", "!", "audioconvert", "!", "audioresample", "!",
           "audio/x-raw,format=S16LE,rate=%d,channels=1" % RATE, "!", "wavenc", "!",
           "filesink", "location=" + part]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        ok = r.returncode == 0
        msg = (r.stderr or r.stdout).strip().splitlines()[-1:] if not ok else []
    except subprocess.TimeoutExpired:
        ok, msg = False, ["timed out after %d s" % timeout]
    if ok:
        try:
            with wave.open(part, "rb") as w:
                ok = (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2) \
                    and w.getnframes() > 0
        except (wave.Error, EOFError, OSError) as e:
            ok, msg = False, [str(e)]
    if not ok:
        if os.path.exists(part):
            os.remove(part)
        return "gst-launch-1.0 failed on %s: %s" % (src, " ".join(msg) or "no output")
    os.replace(part, dst)
    return None


def mix_wavs(inputs, dst):
    """Sum mono S16 WAVs (stems of one song) into dst, scaled down only if the sum would clip."""
    chunk = 1 << 20
    readers = [wave.open(p, "rb") for p in inputs]
    n = max(r.getnframes() for r in readers)

    def chunks():
        for r in readers:
            r.rewind()
        done = 0
        while done < n:
            acc = None
            for r in readers:
                a = array.array("h")
                a.frombytes(r.readframes(chunk))
                if sys.byteorder == "big":
                    a.byteswap()
                m = min(chunk, n - done)
                if len(a) < m:
                    a.extend([0] * (m - len(a)))
                acc = list(a) if acc is None else list(map(int.__add__, acc, a))
            done += len(acc)
            yield acc

    peak = max(max(max(c), -min(c)) for c in chunks())
    gain = min(1.0, 32767.0 / peak) if peak else 1.0
    part = dst + ".part"
    with wave.open(part, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        for c in chunks():
            out = array.array("h", c if gain == 1.0 else [int(round(x * gain)) for x in c])
            if sys.byteorder == "big":
                out.byteswap()
            w.writeframes(out.tobytes())
    for r in readers:
        r.close()
    os.replace(part, dst)


def wav_seconds(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


def decode_track(t, pool, timeout):
    """Decode (and mix) a track into pool/<name>.wav unless already there. Error text or None."""
    dst = os.path.join(pool, t.name + ".wav")
    if os.path.exists(dst):
        return None
    if len(t.sources) == 1:
        return gst_decode(t.sources[0], dst, timeout)
    stems = []
    try:
        for i, src in enumerate(t.sources):
            s = os.path.join(pool, "%s.stem%d.wav" % (t.name, i))
            err = gst_decode(src, s, timeout)
            if err:
                return err
            stems.append(s)
        mix_wavs(stems, dst)
    finally:
        for s in stems:
            if os.path.exists(s):
                os.remove(s)
    return None


def write_clip(src, dst, start_s, seconds):
    with wave.open(src, "rb") as r:
        r.setpos(int(round(start_s * RATE)))
        frames = r.readframes(int(round(seconds * RATE)))
    part = dst + ".part"
    with wave.open(part, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)
    os.replace(part, dst)


def place(src, dst):
    """Hard-link src to dst (copy where links do not work); replaces dst."""
    if os.path.exists(dst):
        if os.path.samefile(src, dst):
            return
        os.remove(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# ---------------------------------------------------------------------------------- split

def split_package(short, tracks):
    """Names of the held-out tracks of one package (see the module docstring)."""
    groups = {}
    for t in tracks:
        groups.setdefault(t.group, []).append(t)
    if len(groups) < MIN_GROUPS_FOR_HELDOUT:
        return set()
    total = sum(t.duration for t in tracks)
    target = HELDOUT_SHARE * total
    order = sorted(groups, key=lambda g: hashlib.sha1(("%s/%s" % (short, g)).encode()).hexdigest())
    held, held_s = set(), 0.0
    for g in order:
        if held_s >= target:
            break
        d = sum(t.duration for t in groups[g])
        # take the group if held-out is still empty or it does not overshoot by much
        if not held or held_s + d <= 1.25 * target:
            held.update(t.name for t in groups[g])
            held_s += d
    return held


# ----------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--packages", default="",
                    help="comma-separated short names or package names (default: all of %s)"
                    % ", ".join(s for _, s, _ in PACKAGES))
    ap.add_argument("--timeout", type=int, default=600, help="seconds per gst-launch (600)")
    args = ap.parse_args()

    for tool in ("apt-get", "dpkg-deb", "gst-launch-1.0"):
        if not shutil.which(tool):
            sys.exit("%s not found (gst-launch-1.0: apt-get install gstreamer1.0-tools "
                     "gstreamer1.0-plugins-base)" % tool)
    want = [w.strip() for w in args.packages.split(",") if w.strip()]
    chosen = [p for p in PACKAGES if not want or p[0] in want or p[1] in want]
    unknown = set(want) - {p[0] for p in chosen} - {p[1] for p in chosen}
    if unknown:
        sys.exit("unknown package(s): %s" % ", ".join(sorted(unknown)))

    out = os.path.abspath(args.outdir)
    debs = os.path.join(out, ".debs")
    pool = os.path.join(out, ".decoded")
    lic_dir = os.path.join(out, "licenses")
    for d in (pool, lic_dir, *(os.path.join(out, s) for s in ("train", "heldout", "heldout-clips"))):
        os.makedirs(d, exist_ok=True)

    tracks, excluded, versions = [], [], {}
    for pkg, short, lister in chosen:
        root, version = fetch(pkg, debs)
        versions[pkg] = version
        for pat in LICENSE_FILES:
            for f in sorted(glob.glob(os.path.join(root, pat))):
                r = os.path.relpath(f, root).split("/")
                name = "%s.%s" % (pkg, "copyright" if r[-1] == "copyright" else
                                  "%s.%s" % (r[-2], r[-1]))
                shutil.copyfile(f, os.path.join(lic_dir, name))
        ts, ex = lister(root, pkg)
        for t in ts:
            t.pkg = (pkg, short, root)
        tracks += ts
        excluded += [(pkg, path, why) for path, why in ex]
        log("%s %s: %d tracks with a free license, %d excluded" % (pkg, version, len(ts), len(ex)))

    names = [t.name for t in tracks]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit("duplicate track names: %s" % ", ".join(sorted(dup)))

    kept = []
    for i, t in enumerate(tracks, 1):
        had = os.path.exists(os.path.join(pool, t.name + ".wav"))
        if not had:
            log("[%d/%d] decoding %s" % (i, len(tracks), t.name))
        err = decode_track(t, pool, args.timeout)
        if err:
            log("  " + err)
            excluded.append((t.pkg[0], rel(t.pkg[2], t.sources[0]), err))
            continue
        t.duration = wav_seconds(os.path.join(pool, t.name + ".wav"))
        if t.duration < MIN_TRACK_S:
            excluded.append((t.pkg[0], rel(t.pkg[2], t.sources[0]),
                             "shorter than %g s (%.1f s)" % (MIN_TRACK_S, t.duration)))
            continue
        kept.append(t)

    held = set()
    for pkg, short, _ in chosen:
        held |= split_package(short, [t for t in kept if t.pkg[1] == short])

    rows, wanted = [], set()
    for t in kept:
        pkg, short, root = t.pkg
        split = "heldout" if t.name in held else "train"
        src = " + ".join(rel(root, s) for s in t.sources)
        wav = "%s/%s.wav" % (split, t.name)
        place(os.path.join(pool, t.name + ".wav"), os.path.join(out, wav))
        wanted.add(wav)
        rows.append((pkg, versions[pkg], src, t.license, "%.3f" % t.duration, split, wav,
                     t.title, t.author))
        if split == "heldout":
            for k, frac in enumerate(CLIP_AT):
                if k > 0 and t.duration < MIN_SECOND_CLIP_TRACK_S:
                    continue
                start = min(frac * t.duration, t.duration - CLIP_S)
                clip = "heldout-clips/%s-at%d.wav" % (t.name, round(frac * 100))
                if not os.path.exists(os.path.join(out, clip)):
                    write_clip(os.path.join(out, wav), os.path.join(out, clip), start, CLIP_S)
                wanted.add(clip)
                rows.append((pkg, versions[pkg], src, t.license, "%.3f" % CLIP_S, "heldout-clip",
                             clip, "%s [%.1f-%.1f s]" % (t.title, start, start + CLIP_S),
                             t.author))

    # remove WAVs of earlier runs that this run did not place (e.g. with other --packages)
    for sub in ("train", "heldout", "heldout-clips"):
        for f in glob.glob(os.path.join(out, sub, "*.wav")):
            if "%s/%s" % (sub, os.path.basename(f)) not in wanted:
                os.remove(f)

    clean = lambda s: str(s).replace("\t", " ").replace("\n", " ")
    with open(os.path.join(out, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("package\tversion\tsource\tlicense\tduration_s\tsplit\twav\ttitle\tauthor\n")
        for r in rows:
            f.write("\t".join(clean(x) for x in r) + "\n")
    with open(os.path.join(out, "excluded.tsv"), "w", encoding="utf-8") as f:
        f.write("package\tsource\treason\n")
        for r in excluded:
            f.write("\t".join(clean(x) for x in r) + "\n")

    # summary
    log("")
    log("%-28s %-12s %6s %8s %6s %8s" % ("package", "version", "train", "hours", "heldout",
                                         "hours"))
    tot = {"train": 0.0, "heldout": 0.0}
    for pkg, short, _ in chosen:
        ts = [t for t in kept if t.pkg[1] == short]
        tr = [t for t in ts if t.name not in held]
        he = [t for t in ts if t.name in held]
        a, b = sum(t.duration for t in tr) / 3600, sum(t.duration for t in he) / 3600
        tot["train"] += a
        tot["heldout"] += b
        log("%-28s %-12s %6d %8.2f %6d %8.2f" % (pkg, versions[pkg], len(tr), a, len(he), b))
    nclips = sum(1 for r in rows if r[5] == "heldout-clip")
    log("total: %.2f h train, %.2f h held-out (%.1f%%), %d tracks (%d held out), %d held-out clips"
        % (tot["train"], tot["heldout"], 100 * tot["heldout"] / max(1e-9, sum(tot.values())),
           len(kept), len(held), nclips))
    if excluded:
        log("excluded %d file(s) (see excluded.tsv):" % len(excluded))
        for pkg, path, why in excluded:
            log("  %s %s: %s" % (pkg, path, why))
    log("wrote %s" % os.path.join(out, "manifest.tsv"))


if __name__ == "__main__":
    main()
