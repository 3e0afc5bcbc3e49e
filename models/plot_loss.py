#!/usr/bin/env python3
"""Plot the loss logs that vamp-train writes (<out>.log.csv) into one PNG.

Usage:
    python3 models/plot_loss.py OUT.png LOG.csv [LOG.csv ...] [--columns loss,mel,si_sdr,accuracy]

    default columns: every column of each log except step, seconds, grad_norm and lr.

Each LOG.csv has a header line "step,seconds,<col>,<col>,..." and numeric rows. The PNG is a
grid of 360x220 panels: one row per log file, one panel per plotted column of that file, each
with a light frame, the curve (value against step), the title "<stem>: <column>" (the stem is
the file name without ".csv" and ".log", so codec.log.csv gives "codec"), the min/max value on
the y axis and the first/last step on the x axis. With --columns, each file plots the listed
columns it has, in the order listed; a file that has none of them is left out.

A resumed run appends to the same log: steps go on and "seconds" restarts, so we plot by step
only. Rows are sorted by step and, if a step appears twice (a run resumed from an older
checkpoint logs those steps again), the later row wins. Non-finite values (nan, inf) are
skipped per column, and rows that do not parse (a line cut off by a crash, a repeated header)
are skipped whole.

Needs only Python 3 and numpy: the text is drawn with a small built-in 5x7 bitmap font and the
PNG is written with zlib + struct, so the same inputs always give the same bytes.
"""

import argparse
import os
import struct
import sys
import zlib

import numpy as np

PANEL_W, PANEL_H = 360, 220
TITLE_SCALE, LABEL_SCALE = 2, 1  # font magnification for titles and axis labels
DEFAULT_SKIP = {"step", "seconds", "grad_norm", "lr"}

WHITE = (255, 255, 255)
PANEL_FRAME = (215, 215, 215)
PLOT_FRAME = (190, 190, 190)
TEXT = (40, 40, 40)
CURVE = (20, 40, 110)

# 5x7 glyphs, rows top to bottom separated by '|', '#' = ink. g, j, p, q and y add two
# descender rows below the baseline; everything else is 7 rows tall.
GLYPH_ROWS = {
    " ": ".....|.....|.....|.....|.....|.....|.....",
    "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
    "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
    "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
    "3": ".###.|#...#|....#|..##.|....#|#...#|.###.",
    "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|....#|#...#|.###.",
    "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
    "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
    "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
    "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
    ".": ".....|.....|.....|.....|.....|.##..|.##..",
    "-": ".....|.....|.....|.###.|.....|.....|.....",
    "+": ".....|..#..|..#..|#####|..#..|..#..|.....",
    "_": ".....|.....|.....|.....|.....|.....|#####",
    ":": ".....|.##..|.##..|.....|.##..|.##..|.....",
    "/": "....#|....#|...#.|..#..|.#...|#....|#....",
    "?": ".###.|#...#|....#|...#.|..#..|.....|..#..",
    "a": ".....|.....|.###.|....#|.####|#...#|.####",
    "b": "#....|#....|#.##.|##..#|#...#|#...#|####.",
    "c": ".....|.....|.###.|#....|#....|#...#|.###.",
    "d": "....#|....#|.##.#|#..##|#...#|#...#|.####",
    "e": ".....|.....|.###.|#...#|#####|#....|.###.",
    "f": "..##.|.#..#|.#...|###..|.#...|.#...|.#...",
    "g": ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###.",
    "h": "#....|#....|#.##.|##..#|#...#|#...#|#...#",
    "i": "..#..|.....|.##..|..#..|..#..|..#..|.###.",
    "j": "...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##..",
    "k": "#....|#....|#..#.|#.#..|##...|#.#..|#..#.",
    "l": ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
    "m": ".....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#",
    "n": ".....|.....|#.##.|##..#|#...#|#...#|#...#",
    "o": ".....|.....|.###.|#...#|#...#|#...#|.###.",
    "p": ".....|.....|####.|#...#|#...#|#...#|####.|#....|#....",
    "q": ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#",
    "r": ".....|.....|#.##.|##..#|#....|#....|#....",
    "s": ".....|.....|.###.|#....|.###.|....#|####.",
    "t": ".#...|.#...|###..|.#...|.#...|.#..#|..##.",
    "u": ".....|.....|#...#|#...#|#...#|#..##|.##.#",
    "v": ".....|.....|#...#|#...#|#...#|.#.#.|..#..",
    "w": ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.",
    "x": ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#",
    "y": ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###.",
    "z": ".....|.....|#####|...#.|..#..|.#...|#####",
}
GLYPH_W, GLYPH_H = 5, 9  # cell: 7 rows above the baseline + 2 descender rows
ADVANCE = GLYPH_W + 1


def _parse_glyph(rows):
    cell = np.zeros((GLYPH_H, GLYPH_W), dtype=bool)
    for y, row in enumerate(rows.split("|")):
        cell[y] = [c == "#" for c in row]
    return cell


GLYPHS = {ch: _parse_glyph(rows) for ch, rows in GLYPH_ROWS.items()}


# ---------------------------------------------------------------- reading the logs


def read_log(path):
    """Return (column names after step and seconds, steps, values[rows, columns])."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    header = lines[0].strip().split(",") if lines else []
    if header[:2] != ["step", "seconds"]:
        raise ValueError(f"{path}: not a vamp-train loss log (no 'step,seconds,...' header)")
    rows = []
    for line in lines[1:]:
        fields = line.strip().split(",")
        if len(fields) != len(header):
            continue  # cut off mid-line by a crash, or blank
        try:
            rows.append([float(x) for x in fields])  # float() takes nan/inf as printf writes them
        except ValueError:
            continue  # e.g. a second header line
    data = np.array(rows, dtype=np.float64).reshape(len(rows), len(header))
    steps, values = dedup_by_step(data[:, 0], data[:, 2:])
    return header[2:], steps, values


def dedup_by_step(steps, values):
    """Sort rows by step; for a repeated step keep the row logged last."""
    ok = np.isfinite(steps)
    steps, values = steps[ok], values[ok]
    order = np.argsort(steps, kind="stable")  # stable: equal steps stay in file order
    steps, values = steps[order], values[order]
    last = np.append(steps[1:] != steps[:-1], True) if len(steps) else np.zeros(0, dtype=bool)
    return steps[last], values[last]


def pick_columns(names, wanted):
    """The columns of one file to plot: the --columns it has, or all but the skipped ones."""
    if wanted is None:
        return [n for n in names if n not in DEFAULT_SKIP]
    return [n for n in wanted if n in names]


def file_stem(path):
    name = os.path.basename(path)
    for suffix in (".csv", ".log"):  # codec.log.csv -> codec
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def format_number(v):
    if float(v).is_integer() and abs(v) < 1e7:
        return str(int(v))
    return f"{v:.4g}"


# ---------------------------------------------------------------- drawing on an RGB array


def text_width(text, scale):
    return max(len(text) * ADVANCE - 1, 0) * scale


def draw_text(img, x, y, text, scale=1, color=TEXT):
    """Draw text with its top-left corner at (x, y); pixels outside img are dropped."""
    for i, ch in enumerate(text.lower()):
        cell = GLYPHS.get(ch, GLYPHS["?"])
        ink = np.kron(cell, np.ones((scale, scale), dtype=bool))
        paint_mask(img, x + i * ADVANCE * scale, y, ink, color)


def paint_mask(img, x, y, mask, color):
    h, w = mask.shape
    # clip the mask to the image so text near an edge cannot wrap or raise
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, img.shape[1]), min(y + h, img.shape[0])
    if x0 < x1 and y0 < y1:
        img[y0:y1, x0:x1][mask[y0 - y : y1 - y, x0 - x : x1 - x]] = color


def draw_rect(img, x0, y0, x1, y1, color):
    """1-pixel outline of the rectangle with corners (x0, y0) and (x1, y1), inclusive."""
    img[y0, x0 : x1 + 1] = color
    img[y1, x0 : x1 + 1] = color
    img[y0 : y1 + 1, x0] = color
    img[y0 : y1 + 1, x1] = color


def draw_polyline(img, xs, ys, color):
    """Join consecutive points with 2-pixel-wide straight segments."""
    if len(xs) == 1:
        img[int(ys[0]) - 2 : int(ys[0]) + 3, int(xs[0]) - 2 : int(xs[0]) + 3] = color
        return
    dx, dy = np.diff(xs), np.diff(ys)
    # one sample per pixel along the longer axis of each segment, all segments at once
    n = np.maximum(np.abs(dx), np.abs(dy)).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(n)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / n[seg]
    px = np.rint(np.append(xs[seg] + dx[seg] * t, xs[-1])).astype(np.int64)
    py = np.rint(np.append(ys[seg] + dy[seg] * t, ys[-1])).astype(np.int64)
    for ox, oy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # a 2x2 pen reads better than 1 px
        img[py + oy, px + ox] = color


def draw_panel(img, ox, oy, title, steps, values):
    """One chart in the PANEL_W x PANEL_H cell whose top-left corner is (ox, oy)."""
    draw_rect(img, ox + 3, oy + 3, ox + PANEL_W - 4, oy + PANEL_H - 4, PANEL_FRAME)
    draw_title(img, ox, oy, title)

    ok = np.isfinite(values)
    steps, values = steps[ok], values[ok]
    lh = GLYPH_H * LABEL_SCALE
    y_labels = [format_number(values.max()), format_number(values.min())] if len(values) else []
    left = ox + 14 + max([text_width(s, LABEL_SCALE) for s in y_labels] + [0])
    right, top, bottom = ox + PANEL_W - 16, oy + 16 + GLYPH_H * TITLE_SCALE, oy + PANEL_H - 14 - lh
    draw_rect(img, left, top, right, bottom, PLOT_FRAME)
    if not len(values):
        msg = "no data"
        x = (left + right - text_width(msg, LABEL_SCALE)) // 2
        draw_text(img, x, (top + bottom - lh) // 2, msg, LABEL_SCALE)
        return

    # inset the data a few pixels so the curve never sits on the frame
    x_lo, x_hi, y_lo, y_hi = left + 5, right - 6, bottom - 6, top + 5
    xs = scale_to(steps, x_lo, x_hi)
    ys = scale_to(values, y_lo, y_hi)
    draw_polyline(img, xs, ys, CURVE)

    # y: max at the top of the data, min at the bottom (one label if the series is flat)
    y_ticks = [(y_labels[0], y_hi), (y_labels[1], y_lo)]
    if values.max() == values.min():
        y_ticks = [(y_labels[0], ys[0])]
    for text, y in y_ticks:
        y = int(round(y))
        img[y, left - 3 : left] = PLOT_FRAME
        x = left - 5 - text_width(text, LABEL_SCALE)
        draw_text(img, x, y - 3 * LABEL_SCALE, text, LABEL_SCALE)  # centred on the tick
    # x: first step under the left end, last step under the right end
    first, last = format_number(steps[0]), format_number(steps[-1])
    ty = bottom + 5
    if steps[-1] > steps[0]:
        img[bottom + 1 : bottom + 4, x_lo] = PLOT_FRAME
        img[bottom + 1 : bottom + 4, x_hi] = PLOT_FRAME
        draw_text(img, x_lo - 2, ty, first, LABEL_SCALE)
        draw_text(img, x_hi + 2 - text_width(last, LABEL_SCALE), ty, last, LABEL_SCALE)
    else:
        draw_text(img, int(xs[0]) - text_width(first, LABEL_SCALE) // 2, ty, first, LABEL_SCALE)


def draw_title(img, ox, oy, title):
    # shrink, then cut, a title too long for the panel rather than run into the next one
    room = PANEL_W - 20
    scale = TITLE_SCALE if text_width(title, TITLE_SCALE) <= room else 1
    while text_width(title, scale) > room:
        title = title[:-3] + ".."
    x = ox + (PANEL_W - text_width(title, scale)) // 2
    y = oy + 10 + (TITLE_SCALE - scale) * GLYPH_H // 2
    draw_text(img, x, y, title, scale)


def scale_to(v, lo, hi):
    """Map v linearly so v.min() -> lo and v.max() -> hi; a constant series goes mid-way."""
    vmin, vmax = v.min(), v.max()
    if vmax <= vmin:
        return np.full(v.shape, (lo + hi) / 2.0)
    return lo + (v - vmin) * ((hi - lo) / (vmax - vmin))


# ---------------------------------------------------------------- PNG output


def write_png(path, img):
    """8-bit RGB PNG, no interlace, filter 0 on every row."""
    h, w, _ = img.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description="Plot vamp-train loss logs into a PNG.")
    ap.add_argument("out", metavar="OUT.png")
    ap.add_argument("logs", metavar="LOG.csv", nargs="+")
    ap.add_argument("--columns", help="comma-separated columns to plot "
                    "(default: all but seconds, grad_norm, lr)")
    args = ap.parse_args(argv)
    # guard against "plot_loss.py a.log.csv b.log.csv" overwriting a log with a PNG
    if not args.out.lower().endswith(".png"):
        ap.error(f"OUT must end in .png, got {args.out!r}")
    wanted = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None

    rows = []  # (stem, [(column, steps, values)])
    for path in args.logs:
        try:
            names, steps, values = read_log(path)
        except (OSError, ValueError) as e:
            print(f"plot_loss: {e}", file=sys.stderr)
            return 1
        cols = pick_columns(names, wanted)
        if not cols:
            print(f"plot_loss: {path}: none of the requested columns, left out", file=sys.stderr)
            continue
        rows.append((file_stem(path), [(c, steps, values[:, names.index(c)]) for c in cols]))
    if not rows:
        print("plot_loss: nothing to plot", file=sys.stderr)
        return 1

    ncols = max(len(series) for _, series in rows)
    img = np.full((len(rows) * PANEL_H, ncols * PANEL_W, 3), WHITE, dtype=np.uint8)
    for r, (stem, series) in enumerate(rows):
        for c, (col, steps, values) in enumerate(series):
            draw_panel(img, c * PANEL_W, r * PANEL_H, f"{stem}: {col}", steps, values)
    write_png(args.out, img)
    return 0


if __name__ == "__main__":
    sys.exit(main())
