#!/usr/bin/env python3
"""Plot spectrograms of the WAVs that `vamp-train eval --wav-out DIR` writes into one PNG.

Usage:
    python3 models/plot_spectrograms.py OUT.png STEM [STEM ...] [--seconds 6]
        [--labels input,roundtrip,opus,variation]

Each STEM is a path prefix such as DIR/<clip>, and STEM.<label>.wav is read for every label
(mono or multichannel, 16-bit PCM or 32-bit float; channels are averaged). The PNG has one
column per stem and one row per label (input, round trip, Opus 8 kbps, variation); a label
that no stem has gets no row, and a stem without one of the others gets an empty "missing"
panel there. Each panel is the log-magnitude spectrogram of the first --seconds seconds (STFT
of 2048 samples with a Hann window, hop 512; a shorter file is padded with silence): time left
to right over 600 px, frequency 0 to 22.05 kHz bottom to top over 200 px on a mel scale, with
ticks at 100 Hz, 1k, 5k, 10k and 20k. Levels are in dB and clipped to the 80 dB below the
loudest bin of the column, so the panels of one clip share a colour scale (black = quiet,
purple, orange, pale yellow = loud).

Needs only Python 3 and numpy; the text, colours and PNG writer come from plot_loss.py in this
folder, so the two figures look alike and the same inputs always give the same bytes.
"""

import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_loss  # noqa: E402  (draw_text, draw_rect, write_png, colours)

N_FFT, HOP = 2048, 512
SPEC_W, SPEC_H = 600, 200  # spectrogram pixels per panel
TOP_HZ = 22050.0
DB_RANGE = 80.0
LEFT, RIGHT, TOP, BOTTOM = 34, 12, 36, 22  # panel margins around the spectrogram
PANEL_W, PANEL_H = LEFT + SPEC_W + RIGHT, TOP + SPEC_H + BOTTOM
TICKS = [(100, "100"), (1000, "1k"), (5000, "5k"), (10000, "10k"), (20000, "20k")]
TITLES = {"roundtrip": "round trip", "opus": "opus 8 kbps"}
# inferno-like ramp: black -> purple -> red -> orange -> pale yellow
ANCHORS = np.array([(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164)])


# ---------------------------------------------------------------- reading WAVs


def read_wav(path):
    """Return (mono float64 samples, sample rate) of a 16-bit PCM or 32-bit float WAV."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    fmt = samples = None
    pos = 12
    while pos + 8 <= len(data):  # walk the chunks: 4-byte tag, 4-byte size, padded to even
        tag, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if tag == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
            if fmt[0] == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in GUID
                fmt = (struct.unpack("<H", body[24:26])[0],) + fmt[1:]
        elif tag == b"data":
            samples = body
        pos += 8 + size + (size & 1)
    if fmt is None or samples is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    tag, channels, rate, _, _, bits = fmt
    if (tag, bits) == (3, 32):
        x = np.frombuffer(samples[: len(samples) // 4 * 4], dtype="<f4").astype(np.float64)
    elif (tag, bits) == (1, 16):
        x = np.frombuffer(samples[: len(samples) // 2 * 2], dtype="<i2") / 32768.0
    else:
        raise ValueError(f"{path}: format {tag} with {bits} bits, want 16-bit PCM or float32")
    x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return x, rate


# ---------------------------------------------------------------- spectrogram


def mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def spectrogram_db(x, rate, seconds):
    """dB image, SPEC_H rows (row 0 = TOP_HZ) by SPEC_W columns (column 0 = time 0)."""
    n = int(round(seconds * rate))
    x = x[:n]
    x = np.pad(x, (0, max(n, N_FFT) - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2  # (frames, bins)

    # mel-spaced rows: mean power of the bins inside each row's band, or, where a band is
    # narrower than a bin (low rows), the power interpolated at the band's centre
    edges = np.linspace(0.0, mel(TOP_HZ), SPEC_H + 1)
    edges_hz = 700.0 * (10.0 ** (edges / 2595.0) - 1.0)
    bin_hz = rate / N_FFT
    n_bins = power.shape[1]
    lo = np.minimum(np.ceil(edges_hz[:-1] / bin_hz).astype(int), n_bins)
    hi = np.minimum(np.ceil(edges_hz[1:] / bin_hz).astype(int), n_bins)
    cum = np.concatenate([np.zeros((len(power), 1)), np.cumsum(power, axis=1)], axis=1)
    band = (cum[:, hi] - cum[:, lo]) / np.maximum(hi - lo, 1)
    k = np.clip((edges_hz[:-1] + edges_hz[1:]) / 2 / bin_hz, 0, n_bins - 1)
    k0 = np.minimum(k.astype(int), n_bins - 2)
    t = k - k0
    interp = power[:, k0] * (1 - t) + power[:, k0 + 1] * t
    rows = np.where(hi > lo, band, interp)  # (frames, SPEC_H), low frequency first

    cols = np.arange(SPEC_W) * len(rows) // SPEC_W  # nearest frame for each pixel column
    return 10.0 * np.log10(np.maximum(rows[cols].T[::-1], 1e-20))


def colorize(db, top):
    """Map dB in [top - DB_RANGE, top] through the ramp to uint8 RGB."""
    v = np.clip((db - (top - DB_RANGE)) / DB_RANGE, 0.0, 1.0)
    at = np.linspace(0.0, 1.0, len(ANCHORS))
    rgb = [np.interp(v, at, ANCHORS[:, c]) for c in range(3)]
    return np.rint(np.stack(rgb, axis=-1)).astype(np.uint8)


# ---------------------------------------------------------------- drawing


def draw_panel(img, ox, oy, title, rgb, seconds):
    """One spectrogram (or a 'missing' note when rgb is None) in the cell at (ox, oy)."""
    draw = plot_loss.draw_text
    scale = plot_loss.TITLE_SCALE
    if plot_loss.text_width(title, scale) > SPEC_W:
        scale = 1
    draw(img, ox + LEFT + (SPEC_W - plot_loss.text_width(title, scale)) // 2,
         oy + TOP - 10 - plot_loss.GLYPH_H * scale + 2 * scale, title, scale)
    x0, y0 = ox + LEFT, oy + TOP
    plot_loss.draw_rect(img, x0 - 1, y0 - 1, x0 + SPEC_W, y0 + SPEC_H, plot_loss.PLOT_FRAME)
    if rgb is None:
        msg = "missing"
        draw(img, x0 + (SPEC_W - plot_loss.text_width(msg, 1)) // 2, y0 + SPEC_H // 2 - 3, msg)
        return
    img[y0 : y0 + SPEC_H, x0 : x0 + SPEC_W] = rgb
    for hz, text in TICKS:
        y = y0 + SPEC_H - 1 - int(round(float(mel(hz) / mel(TOP_HZ)) * (SPEC_H - 1)))
        img[y, x0 - 4 : x0 - 1] = plot_loss.PLOT_FRAME
        draw(img, x0 - 6 - plot_loss.text_width(text, 1), y - 3, text)
    end = f"{seconds:g} s"
    draw(img, x0, y0 + SPEC_H + 5, "0 s")
    draw(img, x0 + SPEC_W - plot_loss.text_width(end, 1), y0 + SPEC_H + 5, end)


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description="Plot spectrograms of vamp-train eval WAVs.")
    ap.add_argument("out", metavar="OUT.png")
    ap.add_argument("stems", metavar="STEM", nargs="+", help="path prefix of STEM.<label>.wav")
    ap.add_argument("--seconds", type=float, default=6.0, help="length to plot (default 6)")
    ap.add_argument("--labels", default="input,roundtrip,opus,variation",
                    help="comma-separated labels, one row each (default: %(default)s)")
    args = ap.parse_args(argv)
    if not args.out.lower().endswith(".png"):
        ap.error(f"OUT must end in .png, got {args.out!r}")
    if args.seconds <= 0:
        ap.error("--seconds must be positive")
    labels = [s.strip() for s in args.labels.split(",") if s.strip()]

    columns = []  # (clip name, {label: dB image})
    for stem in args.stems:
        specs = {}
        for label in labels:
            path = f"{stem}.{label}.wav"
            if not os.path.exists(path):
                continue
            try:
                specs[label] = spectrogram_db(*read_wav(path), args.seconds)
            except (OSError, ValueError) as e:
                print(f"plot_spectrograms: {e}", file=sys.stderr)
                return 1
        if not specs:
            print(f"plot_spectrograms: no {stem}.<label>.wav found, left out", file=sys.stderr)
            continue
        columns.append((os.path.basename(stem), specs))
    rows = [lab for lab in labels if any(lab in specs for _, specs in columns)]
    if not rows:
        print("plot_spectrograms: nothing to plot", file=sys.stderr)
        return 1

    img = np.full((len(rows) * PANEL_H, len(columns) * PANEL_W, 3), plot_loss.WHITE, np.uint8)
    for c, (name, specs) in enumerate(columns):
        top = max(db.max() for db in specs.values())  # one colour scale per column
        for r, label in enumerate(rows):
            rgb = colorize(specs[label], top) if label in specs else None
            title = f"{name}: {TITLES.get(label, label)}"
            draw_panel(img, c * PANEL_W, r * PANEL_H, title, rgb, args.seconds)
    plot_loss.write_png(args.out, img)
    return 0


if __name__ == "__main__":
    sys.exit(main())
