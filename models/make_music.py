#!/usr/bin/env python3
"""Compose and render deterministic music for training and evaluating our small models.

Usage:
    python3 models/make_music.py OUTDIR [--train N] [--heldout M] [--seconds S]
                                        [--seed K] [--soundfont PATH] [--jobs J] [--keep-midi]

    defaults: --train 40 --heldout 6 --seconds 20 --seed 1 --jobs 2,
              --soundfont FluidR3_GM.sf2, or TimGM6mb.sf2 when FluidR3 is not installed.

Each piece is composed here (a style, tempo 70-170 BPM, one of 24 keys, 4/4 or 3/4, and
drums, bass, chords and a melody built from patterns and a seeded random walk), written as a
Standard MIDI File by the small writer below, rendered with fluidsynth and saved as
    OUTDIR/train/piece_000.wav ...     OUTDIR/heldout/piece_000.wav ...
16-bit mono 44.1 kHz, exactly S seconds, peak normalized to -1 dBFS, plus OUTDIR/manifest.txt
(one line per file: name, style, tempo, key, meter, GM programs, seed label; the first line is
a '#' comment with the settings). --keep-midi also keeps the .mid next to each .wav.
Old piece_*.wav/.mid files in OUTDIR/train and OUTDIR/heldout that this run does not write
are removed, so the folders always match the manifest.

The output is regenerable: piece i of a split is composed from random.Random("K/split/i")
(its style and tonic come from random.Random("K/split/plan")), so train and heldout pieces
never share a seed, and the same arguments and soundfont give the same bytes: fluidsynth
renders in float, single-threaded, so no dither noise; we do the 16-bit rounding. Each part
is first rendered alone to set its channel volume, so instruments sit at similar levels.

Needs Python 3 with numpy (Debian: python3-numpy) and fluidsynth on PATH. Licenses of what
we run and render with (all Debian packages):
    fluidsynth                                       LGPL-2.1+  package fluidsynth
    /usr/share/sounds/sf2/FluidR3_GM.sf2             MIT        package fluid-soundfont-gm
    /usr/share/sounds/sf2/TimGM6mb.sf2               GPL-2      package timgm6mb-soundfont
The compositions are our own; see docs/training-data.md.
"""

import argparse
import dataclasses
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor

try:
    import numpy as np
except ImportError:
    # A pyenv or venv python3 often lacks numpy while Debian's python3-numpy is installed for
    # /usr/bin/python3: rerun under that one instead of failing.
    SYSTEM_PYTHON = "/usr/bin/python3"
    if os.path.exists(SYSTEM_PYTHON) and not os.environ.get("MAKE_MUSIC_REEXEC"):
        os.environ["MAKE_MUSIC_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit("make_music.py needs numpy: apt-get install python3-numpy (or pip install numpy)")


SAMPLE_RATE = 44100
PEAK_DBFS = -1.0
PPQ = 480                 # MIDI ticks per quarter note
STEP = PPQ // 4           # all patterns are written on a 16th-note grid
TAIL_SECONDS = 1.0        # compose a little past S so the trim never lands on the last note-off
FLUIDSYNTH_GAIN = 0.5     # output is float and normalized afterwards, so this only sets headroom
MIX_LEVELS = {"melody": 0.0, "bass": -3.0, "drums": -3.0, "chords": -5.0, "pad": -10.0}  # dB
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")

# ----------------------------------------------------------------------------- instruments

GM = {  # the General MIDI programs we use, by name
    "grand_piano": 0, "bright_piano": 1, "electric_piano": 4, "electric_piano_2": 5,
    "clavinet": 7, "celesta": 8, "glockenspiel": 9, "music_box": 10, "vibraphone": 11,
    "marimba": 12, "drawbar_organ": 16, "percussive_organ": 17, "rock_organ": 18,
    "reed_organ": 20, "accordion": 21, "harmonica": 22, "nylon_guitar": 24,
    "steel_guitar": 25, "jazz_guitar": 26, "clean_guitar": 27, "muted_guitar": 28,
    "overdriven_guitar": 29, "distortion_guitar": 30, "acoustic_bass": 32, "finger_bass": 33,
    "pick_bass": 34, "fretless_bass": 35, "slap_bass": 36, "synth_bass": 38,
    "synth_bass_2": 39, "violin": 40, "cello": 42, "pizzicato_strings": 45, "harp": 46,
    "strings": 48, "slow_strings": 49, "synth_strings": 50, "choir_aahs": 52, "trumpet": 56,
    "trombone": 57, "tuba": 58, "muted_trumpet": 59, "brass_section": 61, "synth_brass": 62,
    "soprano_sax": 64, "alto_sax": 65, "tenor_sax": 66, "oboe": 68, "clarinet": 71,
    "flute": 73, "recorder": 74, "pan_flute": 75, "whistle": 78, "ocarina": 79,
    "square_lead": 80, "saw_lead": 81, "calliope_lead": 82, "charang_lead": 84,
    "bass_lead": 87, "new_age_pad": 88, "warm_pad": 89, "polysynth_pad": 90, "choir_pad": 91,
    "bowed_pad": 92, "halo_pad": 94, "sweep_pad": 95, "banjo": 105, "kalimba": 108,
    "fiddle": 110, "steel_drums": 114,
}
DRUM_KITS = {"standard": 0, "room": 8, "power": 16, "electronic": 24, "tr808": 25,
             "jazz": 32, "brush": 40}   # program numbers on channel 10; both soundfonts have them
DRUM_NOTES = {"kick": 36, "side_stick": 37, "snare": 38, "clap": 39, "floor_tom": 41,
              "hat": 42, "pedal_hat": 44, "low_tom": 45, "open_hat": 46, "mid_tom": 47,
              "crash": 49, "high_tom": 50, "ride": 51, "tamb": 54, "maracas": 70}
DRUM_VELOCITY = {"X": 118, "x": 98, "o": 72, "g": 44}   # accent, normal, soft, ghost
DRUM_CHANNEL = 9                                         # "channel 10" in GM numbering

MELODY_RANGES = {  # lowest and highest MIDI note per melody instrument; default (60, 84)
    "tenor_sax": (50, 74), "trombone": (46, 70), "cello": (45, 69), "alto_sax": (55, 79),
    "clean_guitar": (52, 76), "overdriven_guitar": (52, 76), "jazz_guitar": (52, 76),
    "celesta": (67, 91), "glockenspiel": (72, 96), "music_box": (67, 91),
    "bass_lead": (48, 72), "grand_piano": (60, 86), "vibraphone": (57, 81), "marimba": (57, 81),
}


def program_family(program):
    """Rough GM family, used to pick how an instrument accompanies and in which register."""
    if program in (GM["pizzicato_strings"], GM["harp"], GM["banjo"]):
        return "plucked"
    if program in (GM["kalimba"], GM["steel_drums"]):
        return "mallet"
    families = ["piano", "mallet", "organ", "guitar", "bass", "strings", "strings", "brass",
                "reed", "reed", "lead", "pad"]
    return families[program // 8] if program < 96 else "plucked"


FAMILY_COMPS = {  # accompaniment rhythms that suit each family (names in COMP_PATTERNS)
    "piano": ("pop_piano", "quarters", "halves", "arp8", "offbeat"),
    "mallet": ("arp8", "halves", "arp16"),
    "organ": ("sustain", "halves", "offbeat"),
    "guitar": ("strum8", "strum_pop", "arp8"),
    "plucked": ("arp8", "arp16"),
    "strings": ("sustain", "sustain", "halves"),
    "pad": ("sustain",),
    "brass": ("stabs", "halves"),
    "reed": ("sustain", "halves"),
    "lead": ("offbeat", "stabs", "arp16"),
}
VOICING_RANGES = {"piano": (50, 74), "guitar": (45, 70), "organ": (53, 77), "pad": (52, 77),
                  "strings": (50, 77), "brass": (53, 75), "plucked": (48, 76)}   # default (52, 76)
SUSTAINED_FAMILIES = ("strings", "pad")   # always held chords, whatever the style asks

# ----------------------------------------------------------------------------- patterns
# One string per bar on the 16th grid ("4/4": 16 steps, "3/4": 12 steps); a string may span
# several bars. 'x' or a note letter starts a note, '-' holds it, '.' is silence.
# Bass letters: R root, F fifth, O octave, T third, S next scale note, 6 sixth, 7 flat seventh,
# A approach (a half step from the next bar's root).

COMP_PATTERNS = {
    "4/4": {
        "sustain": ("x---------------",),
        "halves": ("x-------x-------",),
        "quarters": ("x--.x--.x--.x--.",),
        "pop_piano": ("x--x--x-x--x--x-", "x-----x-x-------", "x--.x--.x-x-x--."),
        "offbeat": ("..x...x...x...x.", "..x-..x-..x-..x-"),
        "stabs": ("x.....x.....x...", "x..x......x.....", "..x..x....x..x.."),
        "strum8": ("x-x-x-x-x-x-x-x-",),
        "strum_pop": ("x--x--x-x-x-x-x-", "x-----x-x-x-x---"),
        "arp8": ("x-x-x-x-x-x-x-x-",),
        "arp16": ("xxxxxxxxxxxxxxxx",),
        "jazz_comp": ("x-........x-....", "...x-......x-...", "x-.....x-.......",
                      "......x-....x-..", ".x-.....x-......"),
        "oompah": ("....x-......x-..",),
        "funk16": ("x..x..x...x.x...", ".x.x..x..x..x..."),
    },
    "3/4": {
        "sustain": ("x-----------",),
        "halves": ("x-------x---",),
        "quarters": ("x--.x--.x--.",),
        "pop_piano": ("x-----x--x--", "x--x--x-----"),
        "offbeat": ("....x-..x-..",),
        "stabs": ("x.....x.....", "x.......x..."),
        "strum8": ("x-x-x-x-x-x-",),
        "strum_pop": ("x---x-x-x-x-",),
        "arp8": ("x-x-x-x-x-x-",),
        "arp16": ("xxxxxxxxxxxx",),
        "jazz_comp": ("x-......x-..", "...x-...x-..", "....x-......"),
        "oompah": ("....x-..x-..",),
        "funk16": ("x..x..x..x..",),
    },
}

BASS_PATTERNS = {
    "4/4": {
        "whole": ("R---------------",),
        "halves": ("R-------F-------", "R-------R-------"),
        "root_fifth": ("R-----R-F---R---", "R---F---R---F---"),
        "eighths": ("R-R-R-R-R-R-R-R-",),
        "rock8": ("R-R-R-R-R-R-F-A-", "R-R-R-R-R-R-R-R-"),
        "octaves": ("R-O-R-O-R-O-R-O-",),
        "pop": ("R--R--R-R---F---", "R-----R-R-F-O---"),
        "funk": ("R--R..R-..O.R-F.", "R-.R..O-R-..F-A.", "R--.R.O.--R.F-A."),
        "offbeat": ("..R-..R-..R-..R-",),
        "walking": ("R---T---F---A---", "R---S---T---A---", "R---F---O---A---"),
        "waltz": ("R-------F-------",),
        "boogie": ("R---T---F---6---O---7---6---F---",),
    },
    "3/4": {
        "whole": ("R-----------",),
        "halves": ("R-------F---",),
        "root_fifth": ("R-------F---",),
        "eighths": ("R-R-R-R-R-R-",),
        "rock8": ("R-R-R-R-R-A-",),
        "octaves": ("R-O-R-O-R-O-",),
        "pop": ("R-----R-F---",),
        "funk": ("R--R..R-..F.",),
        "offbeat": ("..R-..R-..R-",),
        "walking": ("R---T---A---", "R---F---A---"),
        "waltz": ("R---........F---........",),
        "boogie": ("R---T---F---",),
    },
}

GROOVES = {  # drum patterns, one string per drum; letters are velocities (DRUM_VELOCITY)
    "4/4": {
        "rock": {"kick": "x.......x.x.....", "snare": "....X.......X...",
                 "hat": "x.o.x.o.x.o.x.o."},
        "rock_busy": {"kick": "x.....x.x.x.....", "snare": "....X.......X..g",
                      "hat": "xoxoxoxoxoxoxoxo"},
        "halftime": {"kick": "x.....x...x.....", "snare": "........X.......",
                     "hat": "x.o.x.o.x.o.x.o."},
        "pop": {"kick": "x..x..x...x.....", "snare": "....X.......X...",
                "hat": "x.o.x.o.x.o.x.o.", "tamb": "....x.......x..."},
        "four_floor": {"kick": "x...x...x...x...", "clap": "....X.......X...",
                       "hat": "..x...x...x...x."},
        "electro": {"kick": "x...x...x...x...", "clap": "....X.......X...",
                    "open_hat": "..o...o...o...o.", "maracas": "xoxoxoxoxoxoxoxo"},
        "breakbeat": {"kick": "x.x.......x..x..", "snare": "....X..g.g..X...",
                      "hat": "x.x.x.x.x.x.x.x."},
        "funk": {"kick": "x..x..x...x..x..", "snare": "....X..g.g..X..g",
                 "hat": "xoxoxoxoxoxoxoxo"},
        "funk2": {"kick": "x.x...x..x......", "snare": "....X.g.g..gX...",
                  "hat": "xoooxoooxoooxooo"},
        "ballad": {"kick": "x.......x.......", "side_stick": "....x.......x...",
                   "hat": "x.o.x.o.x.o.x.o."},
        "jazz": {"ride": "x...x.o.x...x.o.", "pedal_hat": "....x.......x...",
                 "kick": "g...g...g...g..."},
        "shuffle": {"kick": "x.....x.x.......", "snare": "....X.......X...",
                    "hat": "x.o.x.o.x.o.x.o."},
        "folk": {"kick": "x.......x.......", "side_stick": "....x.......x...",
                 "maracas": "x.o.x.o.x.o.x.o."},
        "ambient": {"kick": "x...............", "ride": "........o......."},
    },
    "3/4": {
        "waltz": {"kick": "x...........", "hat": "....x...x...", "snare": "....o...o..."},
        "waltz_brush": {"kick": "x...........", "snare": "....g...g...", "ride": "x...x...x..."},
        "jazz_waltz": {"ride": "x...x.o.x...", "pedal_hat": "....x...x...",
                       "kick": "g..........."},
        "folk34": {"kick": "x...........", "tamb": "....x...x...", "side_stick": "........x..."},
        "ballad34": {"kick": "x...........", "side_stick": "........x...",
                     "hat": "x.o.x.o.x.o."},
        "ambient34": {"kick": "x...........", "ride": "........o..."},
    },
}

# Melody rhythm cells, one beat (4 sixteenths) each: positive = note length, negative = rest,
# TIE = hold the previous note through the beat. Weights for sparse / normal / busy pieces.
TIE = "tie"
MELODY_CELLS = [
    ((4,), (4, 4, 2)),
    ((2, 2), (2, 4, 4)),
    ((3, 1), (0, 1, 2)),
    ((1, 1, 2), (0, 1, 2)),
    ((2, 1, 1), (0, 1, 2)),
    ((1, 1, 1, 1), (0, 0, 2)),
    ((-2, 2), (1, 2, 1)),
    ((2, -2), (1, 1, 1)),
    ((-4,), (1.5, 1, 0.5)),
    (TIE, (3, 2, 1)),
]
DENSITIES = ("sparse", "normal", "busy")
MELODY_STEPS = ((-3, -2, -1, 0, 1, 2, 3, 4, -4), (1, 3, 6, 2, 6, 3, 1, 0.5, 0.5))

# ----------------------------------------------------------------------------- harmony

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
MELODY_SCALES = {  # semitones above the tonic, per mode
    "diatonic": {"major": MAJOR, "minor": MINOR},
    "pentatonic": {"major": (0, 2, 4, 7, 9), "minor": (0, 3, 5, 7, 10)},
    "blues": {"major": (0, 3, 5, 7, 10), "minor": (0, 3, 5, 7, 10)},
}
# Progressions as scale degrees (0 = I/i), one chord per bar (or two bars at fast tempos).
# Every progression list used by one style has one length, so sections line up.
POP_PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 0, 4),
              (0, 2, 3, 4), (0, 3, 1, 4), (3, 4, 0, 0)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4),
              (0, 0, 3, 4), (5, 6, 0, 0)),
}
VAMP_PROGRESSIONS = {
    "major": ((0, 0, 3, 3), (0, 3, 0, 3), (0, 4, 3, 0)),
    "minor": ((0, 0, 3, 3), (0, 6, 0, 6), (0, 3, 0, 6)),
}
JAZZ_PROGRESSIONS = {
    "major": ((1, 4, 0, 0), (0, 5, 1, 4), (2, 5, 1, 4), (0, 3, 1, 4)),
    "minor": ((1, 4, 0, 0), (0, 3, 1, 4), (0, 5, 1, 4)),
}
BLUES_PROGRESSIONS = {"major": ((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4),
                                (0, 3, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4))}
FORMS = ("AABA", "ABAB", "AABB", "ABAC", "AAAA")
MAJOR_KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
MAJOR_KEY_SHARPS = (0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)   # negative = flats


@dataclasses.dataclass(frozen=True)
class Style:
    name: str
    tempo: tuple                 # BPM range, inclusive
    meters: tuple                # "4/4" or "3/4", repeated entries weight the choice
    modes: tuple
    progressions: dict
    grooves: dict                # meter -> groove names
    kits: tuple
    bass: tuple                  # GM program names
    bass_patterns: tuple
    chords: tuple
    melody: tuple
    comp: tuple = ()             # accompaniment rhythms; () lets the instrument family choose
    melody_scales: tuple = ("diatonic",)
    densities: tuple = DENSITIES
    drums: float = 0.9           # probability that a piece has drums
    bass_prob: float = 0.92
    sevenths: float = 0.2        # probability of seventh chords
    dominant_sevenths: bool = False
    swing: float = 0.5           # where the off-beat eighth falls inside a beat; 0.5 = straight
    reverb: int = 40


STYLES = {s.name: s for s in (
    Style("rock", (100, 160), ("4/4",), ("major", "minor"), POP_PROGRESSIONS,
          {"4/4": ("rock", "rock_busy", "halftime")}, ("standard", "power", "room"),
          ("finger_bass", "pick_bass"), ("eighths", "rock8", "root_fifth"),
          ("overdriven_guitar", "distortion_guitar", "clean_guitar", "steel_guitar",
           "rock_organ"),
          ("square_lead", "saw_lead", "overdriven_guitar", "tenor_sax", "rock_organ"),
          melody_scales=("pentatonic", "diatonic"), drums=1.0, sevenths=0.0, reverb=30),
    Style("pop", (84, 128), ("4/4",), ("major", "major", "minor"), POP_PROGRESSIONS,
          {"4/4": ("pop", "rock", "four_floor")}, ("standard", "room"),
          ("finger_bass", "synth_bass", "fretless_bass"),
          ("pop", "root_fifth", "eighths", "octaves"),
          ("grand_piano", "bright_piano", "electric_piano", "electric_piano_2", "nylon_guitar",
           "steel_guitar", "polysynth_pad"),
          ("flute", "vibraphone", "whistle", "calliope_lead", "trumpet", "clarinet",
           "square_lead", "soprano_sax")),
    Style("ballad", (70, 92), ("4/4", "4/4", "4/4", "3/4"), ("major", "minor"), POP_PROGRESSIONS,
          {"4/4": ("ballad",), "3/4": ("ballad34",)}, ("standard", "brush", "room"),
          ("fretless_bass", "acoustic_bass", "finger_bass"), ("whole", "halves"),
          ("strings", "slow_strings", "warm_pad", "grand_piano", "electric_piano", "harp"),
          ("grand_piano", "oboe", "violin", "flute", "cello", "clarinet", "electric_piano"),
          densities=("sparse", "normal"), drums=0.45, sevenths=0.3, reverb=60),
    Style("funk", (92, 118), ("4/4",), ("minor", "minor", "major"), VAMP_PROGRESSIONS,
          {"4/4": ("funk", "funk2")}, ("standard", "room"),
          ("slap_bass", "finger_bass", "synth_bass_2"), ("funk",),
          ("clavinet", "electric_piano", "muted_guitar", "clean_guitar"),
          ("brass_section", "alto_sax", "synth_brass", "trumpet", "tenor_sax"),
          comp=("stabs", "funk16"), melody_scales=("pentatonic",), densities=("normal", "busy"),
          drums=1.0, sevenths=0.7, reverb=25),
    Style("waltz", (88, 168), ("3/4",), ("major", "minor"), POP_PROGRESSIONS,
          {"3/4": ("waltz", "waltz_brush", "ballad34")}, ("standard", "brush", "jazz"),
          ("acoustic_bass", "finger_bass", "tuba"), ("waltz",),
          ("accordion", "grand_piano", "strings", "reed_organ", "pizzicato_strings", "harp"),
          ("violin", "accordion", "flute", "clarinet", "oboe"),
          comp=("oompah",), drums=0.5, sevenths=0.1, reverb=50),
    Style("electronic", (118, 140), ("4/4",), ("minor", "minor", "major"), POP_PROGRESSIONS,
          {"4/4": ("four_floor", "electro", "breakbeat")}, ("electronic", "tr808"),
          ("synth_bass", "synth_bass_2", "bass_lead"), ("offbeat", "octaves", "eighths"),
          ("polysynth_pad", "saw_lead", "warm_pad", "halo_pad", "sweep_pad", "synth_strings",
           "electric_piano"),
          ("square_lead", "saw_lead", "calliope_lead", "charang_lead", "steel_drums",
           "bass_lead"),
          comp=("offbeat", "stabs", "arp16"), melody_scales=("pentatonic", "diatonic"),
          drums=1.0, sevenths=0.3, reverb=45),
    Style("jazz", (100, 170), ("4/4", "4/4", "4/4", "3/4"), ("major", "minor"), JAZZ_PROGRESSIONS,
          {"4/4": ("jazz",), "3/4": ("jazz_waltz",)}, ("jazz", "brush"),
          ("acoustic_bass",), ("walking",),
          ("grand_piano", "electric_piano", "vibraphone", "jazz_guitar"),
          ("tenor_sax", "alto_sax", "trumpet", "muted_trumpet", "vibraphone", "flute",
           "trombone", "clarinet"),
          comp=("jazz_comp",), sevenths=1.0, swing=2 / 3, reverb=40),
    Style("ambient", (70, 96), ("4/4", "4/4", "3/4"), ("major", "minor"), POP_PROGRESSIONS,
          {"4/4": ("ambient",), "3/4": ("ambient34",)}, ("room", "electronic"),
          ("fretless_bass", "synth_bass_2", "acoustic_bass"), ("whole",),
          ("new_age_pad", "warm_pad", "choir_pad", "bowed_pad", "halo_pad", "sweep_pad",
           "choir_aahs", "slow_strings"),
          ("celesta", "glockenspiel", "music_box", "kalimba", "harp", "marimba", "vibraphone",
           "pan_flute", "ocarina"),
          melody_scales=("pentatonic",), densities=("sparse", "sparse", "normal"),
          drums=0.15, bass_prob=0.6, sevenths=0.5, reverb=90),
    Style("folk", (80, 132), ("4/4", "4/4", "3/4"), ("major", "major", "minor"), POP_PROGRESSIONS,
          {"4/4": ("folk",), "3/4": ("folk34",)}, ("standard", "room", "brush"),
          ("acoustic_bass", "finger_bass"), ("root_fifth", "halves"),
          ("nylon_guitar", "steel_guitar", "banjo", "accordion", "harp"),
          ("fiddle", "violin", "flute", "recorder", "pan_flute", "harmonica", "whistle",
           "ocarina"),
          melody_scales=("diatonic", "pentatonic"), drums=0.5, sevenths=0.0, reverb=40),
    Style("blues", (72, 132), ("4/4",), ("major",), BLUES_PROGRESSIONS,
          {"4/4": ("shuffle",)}, ("standard", "room", "brush"),
          ("finger_bass", "acoustic_bass"), ("walking", "boogie"),
          ("drawbar_organ", "percussive_organ", "grand_piano", "clean_guitar", "electric_piano"),
          ("harmonica", "overdriven_guitar", "clean_guitar", "tenor_sax", "trumpet", "alto_sax"),
          comp=("quarters", "halves", "stabs"), melody_scales=("blues",),
          dominant_sevenths=True, swing=2 / 3, reverb=35),
    Style("piano_solo", (70, 130), ("4/4", "4/4", "4/4", "3/4"), ("major", "minor"),
          POP_PROGRESSIONS, {}, (), ("grand_piano",), ("whole", "halves", "root_fifth"),
          ("grand_piano",), ("grand_piano",), comp=("arp8", "pop_piano", "halves"),
          drums=0.0, bass_prob=0.8, sevenths=0.3, reverb=45),
)}


def check_tables():
    """Catch a typo in the tables above when the script starts, not halfway through a render."""
    for meter, steps in (("4/4", 16), ("3/4", 12)):
        for table in (COMP_PATTERNS[meter], BASS_PATTERNS[meter]):
            assert all(len(p) % steps == 0 for ps in table.values() for p in ps), meter
        for groove in GROOVES[meter].values():
            assert all(len(p) == steps for p in groove.values()), meter
    for style in STYLES.values():
        for meter in style.meters:
            assert not style.drums or style.grooves.get(meter), (style.name, meter)
            assert all(g in GROOVES[meter] for g in style.grooves.get(meter, ()))
            assert all(p in BASS_PATTERNS[meter] for p in style.bass_patterns), style.name
            assert all(c in COMP_PATTERNS[meter] for c in style.comp), style.name
        for name in style.bass + style.chords + style.melody:
            assert name in GM, name
        assert all(k in DRUM_KITS for k in style.kits), style.name
        for mode in style.modes:
            assert len({len(p) for p in style.progressions[mode]}) == 1, style.name


check_tables()

# ----------------------------------------------------------------------------- the piece


@dataclasses.dataclass
class Chord:
    root: int            # pitch class
    pcs: tuple           # pitch classes, root first
    raised: bool = False  # minor-key V with a raised (major) third


@dataclasses.dataclass
class Part:
    name: str
    program: int          # GM program, or the drum kit number on the drum channel
    channel: int
    volume: int = 100     # CC7, set by balance_parts before the final render
    pan: int = 64
    reverb: int = 40
    chorus: int = 0
    notes: list = dataclasses.field(default_factory=list)   # (start, length, pitch, velocity)

    def add(self, start, length, pitch, velocity):
        self.notes.append((max(0, round(start)), max(1, round(length)),
                           min(127, max(0, pitch)), min(127, max(1, round(velocity)))))


@dataclasses.dataclass
class Piece:
    label: str
    style: Style
    tempo: int
    key: int
    mode: str
    meter: str
    density: str
    n_bars: int = 0
    section_bars: int = 4
    bar_chords: list = dataclasses.field(default_factory=list)
    bar_sections: list = dataclasses.field(default_factory=list)   # form letter of each bar
    parts: list = dataclasses.field(default_factory=list)

    @property
    def beats(self):
        return int(self.meter.split("/")[0])

    @property
    def steps_per_bar(self):
        return 4 * self.beats

    @property
    def bar_ticks(self):
        return self.beats * PPQ

    def tick(self, bar, step):
        """Tick of a 16th-grid position, with this piece's swing applied inside each beat."""
        beat, pos = divmod(step * STEP, PPQ)
        half, split = PPQ / 2, PPQ * self.style.swing
        pos = pos * split / half if pos <= half else split + (pos - half) * (PPQ - split) / half
        return bar * self.bar_ticks + beat * PPQ + pos

    def note(self, part, bar, step, steps, pitch, velocity, legato=0.95, offset=0.0):
        """Add a note lasting `steps` 16ths (shortened by `legato`), `offset` ticks late."""
        start = self.tick(bar, step)
        length = (self.tick(bar, step + steps) - start) * legato - offset
        part.add(start + offset, length, pitch, velocity)

    def chord_at(self, bar):
        return self.bar_chords[min(bar, len(self.bar_chords) - 1)]

    def key_name(self):
        names = MAJOR_KEY_NAMES if self.mode == "major" else MINOR_KEY_NAMES
        return f"{names[self.key]}-{self.mode}"

    def describe(self):
        programs = ",".join(f"{p.name}:{program_name(p)}" for p in self.parts)
        return (f"style={self.style.name} tempo={self.tempo} key={self.key_name()} "
                f"meter={self.meter} programs={programs} seed={self.label}")


def program_name(part):
    if part.channel == DRUM_CHANNEL:
        return next(k for k, v in DRUM_KITS.items() if v == part.program) + "_kit"
    return next(k for k, v in GM.items() if v == part.program) + f"({part.program})"


def weighted_choice(rng, items, weights):
    return rng.choices(items, weights=weights)[0]


def bar_slice(pattern, bar, steps_per_bar):
    """The piece of a (possibly multi-bar) pattern string that falls in `bar`."""
    n = len(pattern) // steps_per_bar
    k = bar % n
    return pattern[k * steps_per_bar:(k + 1) * steps_per_bar]


def pattern_notes(pattern):
    """(step, length, symbol) for each note in a pattern string: a symbol, then '-' holds."""
    notes = []
    for step, symbol in enumerate(pattern):
        if symbol not in "-.":
            notes.append([step, 1, symbol])
        elif symbol == "-" and notes and notes[-1][0] + notes[-1][1] == step:
            notes[-1][1] += 1
    return notes


def jitter(rng, amount):
    return rng.uniform(-amount, amount)

# ----------------------------------------------------------------------------- harmony plan


def build_chord(piece, degree, seventh, raise_minor_v):
    """Diatonic triad (or seventh) on a scale degree of the piece's key."""
    if piece.style.dominant_sevenths:   # blues: every chord a dominant seventh
        root = (piece.key + MAJOR[degree]) % 12
        return Chord(root, tuple((root + i) % 12 for i in (0, 4, 7, 10)))
    scale = MAJOR if piece.mode == "major" else MINOR
    size = 4 if seventh else 3
    pcs = [(piece.key + scale[(degree + 2 * k) % 7]) % 12 for k in range(size)]
    raised = piece.mode == "minor" and degree == 4 and raise_minor_v
    if raised:   # harmonic-minor V: the leading tone makes the cadence pull home
        pcs[1] = (pcs[1] + 1) % 12
    return Chord(pcs[0], tuple(pcs), raised)


def plan_harmony(rng, piece):
    """Pick a form (AABA...), a progression per section letter, and a chord for every bar."""
    progressions = piece.style.progressions[piece.mode]
    form = rng.choice(FORMS)
    by_letter = {}
    for letter in sorted(set(form)):
        unused = [p for p in progressions if p not in by_letter.values()] or list(progressions)
        by_letter[letter] = rng.choice(unused)
    # Fast tempos hold each chord two bars so the harmony does not rush by.
    fast = piece.tempo > 135 and len(progressions[0]) == 4
    bars_per_chord = 2 if fast and rng.random() < 0.6 else 1
    seventh = rng.random() < piece.style.sevenths
    raise_minor_v = rng.random() < 0.6
    piece.section_bars = len(progressions[0]) * bars_per_chord
    section = 0
    while len(piece.bar_chords) <= piece.n_bars:   # one spare bar for look-ahead
        letter = form[section % len(form)]
        for degree in by_letter[letter]:
            chord = build_chord(piece, degree, seventh, raise_minor_v)
            piece.bar_chords += [chord] * bars_per_chord
            piece.bar_sections += [letter] * bars_per_chord
        section += 1

# ----------------------------------------------------------------------------- drums


def groove_hits(groove):
    return [(step, drum, DRUM_VELOCITY[v]) for drum, pattern in groove.items()
            for step, v in enumerate(pattern) if v in DRUM_VELOCITY]


def vary_groove(rng, hits, piece):
    """Small per-bar changes so a loop does not repeat exactly."""
    hits = list(hits)
    spb = piece.steps_per_bar
    if rng.random() < 0.2:   # an extra soft kick on a free eighth
        used = {s for s, d, _ in hits if d in ("kick", "snare", "clap")}
        free = [s for s in range(2, spb, 2) if s not in used]
        if free:
            hits.append((rng.choice(free), "kick", DRUM_VELOCITY["o"]))
    hats = [h for h in hits if h[1] == "hat"]
    if hats and rng.random() < 0.15:   # open the last hat of the bar
        last = max(hats)
        hits[hits.index(last)] = (last[0], "open_hat", last[2])
    if piece.density == "busy" and rng.random() < 0.3:
        hits.append((rng.randrange(1, spb, 2), "snare", DRUM_VELOCITY["g"]))
    return hits


def drum_fill(rng, spb):
    """A one- or two-beat fill of snare and toms at the end of a bar, getting louder."""
    beats = rng.choice((1, 1, 2))
    start = spb - 4 * beats
    kind = rng.choice(("snare16", "toms8", "toms16", "mixed"))
    step_size = 2 if kind == "toms8" else 1
    toms = ("high_tom", "mid_tom", "low_tom", "floor_tom")
    steps = list(range(start, spb, step_size))
    hits = []
    for i, step in enumerate(steps):
        if kind == "snare16":
            drum = "snare"
        elif kind == "mixed":
            drum = "snare" if i % 2 == 0 else toms[min(3, i * 4 // len(steps))]
        else:
            drum = toms[min(3, i * 4 // len(steps))]
        hits.append((step, drum, 70 + 45 * i / max(1, len(steps) - 1)))
    return start, hits


def compose_drums(rng, piece, channel):
    style = piece.style
    part = Part("drums", DRUM_KITS[rng.choice(style.kits)], channel, reverb=style.reverb // 2)
    groove = GROOVES[piece.meter][rng.choice(style.grooves[piece.meter])]
    spb = piece.steps_per_bar
    # Some pieces let the drums come in after the first section, for density changes.
    late_entry = rng.random() < 0.2 and piece.n_bars >= 2 * piece.section_bars
    start_bar = piece.section_bars if late_entry else 0
    fill_chance = 0.4 if piece.density == "sparse" else 0.85
    crash_next = True
    for bar in range(start_bar, piece.n_bars):
        hits = vary_groove(rng, groove_hits(groove), piece)
        section_end = (bar + 1) % piece.section_bars == 0
        fill = ((section_end and rng.random() < fill_chance)
                or ((bar + 1) % 4 == 0 and rng.random() < 0.2))
        if fill:
            fill_start, fill_hits = drum_fill(rng, spb)
            hits = [h for h in hits if h[0] < fill_start or h[1] == "kick"] + fill_hits
        if crash_next:
            hits += [(0, "crash", 105), (0, "kick", 105)]
        crash_next = fill and rng.random() < 0.8
        for step, drum, velocity in hits:
            piece.note(part, bar, step, 1, DRUM_NOTES[drum], velocity + jitter(rng, 6),
                       legato=1.0, offset=abs(jitter(rng, 4)))
    return part

# ----------------------------------------------------------------------------- bass


def bass_register(pc):
    """The root pitch class placed between A1 and G#2, where bass lines sit."""
    return 33 + (pc - 9) % 12


def bass_pitch(symbol, chord, next_chord, piece, rng):
    root = bass_register(chord.root)
    third = (chord.pcs[1] - chord.root) % 12
    fifth = (chord.pcs[2] - chord.root) % 12
    scale = MAJOR if piece.mode == "major" else MINOR
    key_pcs = [(piece.key + s) % 12 for s in scale]
    if symbol == "A":   # approach the next bar's root from a half step below or above
        target = bass_register(next_chord.root)
        return target + rng.choice((-1, 1))
    if symbol == "S":   # the next scale note above the root
        return root + min((pc - chord.root) % 12 or 12 for pc in key_pcs)
    offsets = {"R": 0, "F": fifth, "O": 12, "T": third, "6": 9, "7": 10}
    return root + offsets[symbol]


def compose_bass(rng, piece, channel):
    program = GM[rng.choice(piece.style.bass)]
    part = Part("bass", program, channel, reverb=10)
    patterns = BASS_PATTERNS[piece.meter][rng.choice(piece.style.bass_patterns)]
    main = rng.choice(patterns)
    base_velocity = rng.randint(84, 104)
    legato = rng.uniform(0.7, 0.95)
    for bar in range(piece.n_bars):
        pattern = main if rng.random() > 0.2 else rng.choice(patterns)
        for step, steps, symbol in pattern_notes(bar_slice(pattern, bar, piece.steps_per_bar)):
            pitch = bass_pitch(symbol, piece.chord_at(bar), piece.chord_at(bar + 1), piece, rng)
            accent = 10 if step == 0 else (4 if step % 4 == 0 else 0)
            piece.note(part, bar, step, steps, pitch, base_velocity + accent + jitter(rng, 6),
                       legato=legato, offset=abs(jitter(rng, 6)))
    return part

# ----------------------------------------------------------------------------- chords


def voice_chord(chord, previous, low, high, power=False):
    """Close voicing inside [low, high] that moves least from the previous voicing."""
    if power:   # distorted guitars sound muddy on thirds: root, fifth, octave
        root = low + (chord.root - low) % 12
        return [root, root + 7, root + 12]
    candidates = []
    for rotation in range(len(chord.pcs)):
        pcs = chord.pcs[rotation:] + chord.pcs[:rotation]
        for bottom in range(low, low + 12):
            if bottom % 12 != pcs[0]:
                continue
            notes = [bottom]
            for pc in pcs[1:]:
                notes.append(notes[-1] + (pc - notes[-1]) % 12)
            if notes[-1] <= high:
                candidates.append(notes)
    centre = (low + high) / 2
    if previous is None:
        return min(candidates, key=lambda v: abs(sum(v) / len(v) - centre))
    return min(candidates, key=lambda v: sum(abs(a - b) for a, b in zip(v, previous))
               + abs(len(v) - len(previous)) * 12)


def choose_comp(rng, style, program):
    family = program_family(program)
    if family in SUSTAINED_FAMILIES:
        return rng.choice(FAMILY_COMPS[family])
    return rng.choice(style.comp or FAMILY_COMPS.get(family, ("halves",)))


def compose_chords(rng, piece, channel, program, name="chords"):
    family = program_family(program)
    rhythm = choose_comp(rng, piece.style, program)
    if piece.density == "sparse" and family not in SUSTAINED_FAMILIES and rng.random() < 0.5:
        rhythm = "halves"
    part = Part(name, program, channel, pan=64 + rng.choice((-1, 1)) * rng.randint(8, 30),
                reverb=piece.style.reverb + 10,
                chorus=30 if family in ("pad", "piano", "organ") else 0)
    patterns = COMP_PATTERNS[piece.meter][rhythm]
    main = rng.choice(patterns)
    variation = 0.8 if rhythm == "jazz_comp" else 0.15
    low, high = VOICING_RANGES.get(family, (52, 76))
    power = program in (GM["overdriven_guitar"], GM["distortion_guitar"])
    if power:
        low, high = 40, 64
    strum = family in ("guitar", "plucked") and not rhythm.startswith("arp")
    sustained = rhythm == "sustain"
    legato = 1.0 if sustained else rng.uniform(0.75, 0.95)
    base_velocity = rng.randint(62, 84) if family in SUSTAINED_FAMILIES else rng.randint(70, 92)
    previous = None
    for bar in range(piece.n_bars):
        chord = piece.chord_at(bar)
        voicing = voice_chord(chord, previous, low, high, power)
        previous = voicing
        pattern = main if rng.random() > variation else rng.choice(patterns)
        notes = pattern_notes(bar_slice(pattern, bar, piece.steps_per_bar))
        for i, (step, steps, _) in enumerate(notes):
            accent = 8 if step % 4 == 0 else 0
            velocity = base_velocity + accent + jitter(rng, 5)
            if rhythm.startswith("arp"):   # broken chord: up and back down the voicing
                tones = voicing + [voicing[0] + 12]
                order = list(range(len(tones))) + list(range(len(tones) - 2, 0, -1))
                piece.note(part, bar, step, steps, tones[order[i % len(order)]], velocity - 6,
                           legato=1.0, offset=abs(jitter(rng, 5)))
                continue
            down = step % 4 == 0
            tones = voicing if down or not strum else voicing[::-1]
            for k, pitch in enumerate(tones):
                offset = k * rng.uniform(10, 22) if strum else abs(jitter(rng, 4))
                piece.note(part, bar, step, steps, pitch, velocity - (0 if down else 8),
                           legato=legato, offset=offset)
    return part

# ----------------------------------------------------------------------------- melody


def melody_rhythm(rng, beats, density):
    """[onset step, length] of each note in a phrase of `beats` beats, built from cells."""
    cells = [c for c, _ in MELODY_CELLS]
    weights = [w[DENSITIES.index(density)] for _, w in MELODY_CELLS]
    notes = []
    for beat in range(beats):
        cell = weighted_choice(rng, cells, weights)
        if beat == beats - 1:   # end the phrase with a held note or a breath
            cell = rng.choice((TIE, (-4,), (4,)))
        if cell == TIE:
            if notes and notes[-1][0] + notes[-1][1] == beat * 4:
                notes[-1][1] += 4
            continue
        pos = beat * 4
        for length in cell:
            if length > 0:
                notes.append([pos, length])
            pos += abs(length)
    return notes or [[0, 4]]


def make_motif(rng, piece):
    """A two-bar motif: a rhythm and the scale steps between its notes."""
    rhythm = melody_rhythm(rng, 2 * piece.beats, piece.density)
    steps = [0] + [weighted_choice(rng, *MELODY_STEPS) for _ in rhythm[1:]]
    return rhythm, steps


def vary_motif(rng, motif, piece):
    """The same motif with a changed ending, and sometimes a new second bar."""
    rhythm, steps = [list(n) for n in motif[0]], list(motif[1])
    if rng.random() < 0.3:
        spb = piece.steps_per_bar
        second = [[s + spb, n] for s, n in melody_rhythm(rng, piece.beats, piece.density)]
        rhythm = [n for n in rhythm if n[0] < spb] + second
        steps = (steps + [weighted_choice(rng, *MELODY_STEPS) for _ in rhythm])[:len(rhythm)]
    for i in range(max(1, len(steps) - rng.randint(1, 2)), len(steps)):
        steps[i] = weighted_choice(rng, *MELODY_STEPS)
    return rhythm, steps


def nearest_chord_tone(index, pitches, chord):
    for d in (0, -1, 1, -2, 2, -3, 3):
        if 0 <= index + d < len(pitches) and pitches[index + d] % 12 in chord.pcs:
            return index + d
    return index


def compose_melody(rng, piece, channel, program_name_):
    program = GM[program_name_]
    part = Part("melody", program, channel, pan=64 + rng.randint(-12, 12),
                reverb=piece.style.reverb + 5)
    low, high = MELODY_RANGES.get(program_name_, (60, 84))
    scale = MELODY_SCALES[rng.choice(piece.style.melody_scales)][piece.mode]
    pitches = [p for p in range(low, high + 1) if (p - piece.key) % 12 in scale]
    legato = rng.uniform(0.8, 0.97)
    base_velocity = rng.randint(80, 100)
    start_bar = 2 if rng.random() < 0.3 and piece.n_bars >= 8 else 0   # a two-bar intro
    motifs = {}
    index = len(pitches) // 2
    for phrase_bar in range(start_bar, piece.n_bars, 2):
        letter = piece.bar_sections[phrase_bar]
        first_of_section = phrase_bar % piece.section_bars == 0
        if letter not in motifs:
            motifs[letter] = make_motif(rng, piece)
        motif = motifs[letter] if first_of_section else vary_motif(rng, motifs[letter], piece)
        if piece.density == "sparse" and not first_of_section and rng.random() < 0.3:
            continue   # leave the answer phrase to the accompaniment
        index = play_phrase(rng, piece, part, motif, phrase_bar, pitches, index,
                            legato, base_velocity)
    return part


def play_phrase(rng, piece, part, motif, phrase_bar, pitches, index, legato, base_velocity):
    """Walk the motif's steps through the scale, landing on chord tones on strong beats."""
    spb = piece.steps_per_bar
    strong = {0, 8} if piece.beats == 4 else {0}
    for n, ((onset, length), step) in enumerate(zip(*motif)):
        bar, pos = phrase_bar + onset // spb, onset % spb
        if bar >= piece.n_bars:
            break
        chord = piece.chord_at(bar)
        index += step
        if index < 0 or index >= len(pitches):   # bounce off the edges of the range
            index -= 2 * step
        index = min(len(pitches) - 1, max(0, index))
        if n == 0 or pos in strong or length >= 4:
            index = nearest_chord_tone(index, pitches, chord)
        pitch = pitches[index]
        if chord.raised and pitch % 12 == (piece.key + 10) % 12:
            pitch += 1   # the raised leading tone of harmonic minor, to match the V chord
        accent = 8 if pos in strong else (-6 if pos % 2 else 0)
        velocity = base_velocity + accent + jitter(rng, 5)
        piece.note(part, bar, pos, length, pitch, velocity, legato=legato,
                   offset=abs(jitter(rng, 6)))
    return index

# ----------------------------------------------------------------------------- composing


def choose_parts(rng, piece):
    """Which parts play: drums, bass and melody are optional, so density and timbre vary."""
    style = piece.style
    drums = rng.random() < style.drums and not (piece.density == "sparse" and rng.random() < 0.3)
    bass = rng.random() < style.bass_prob
    melody = rng.random() < (0.88 if drums else 0.96)   # without drums, mostly keep a tune
    chords = rng.random() < 0.95 or not melody
    if drums + bass + chords + melody < 2:
        melody = chords = True
    pad = chords and piece.density != "sparse" and rng.random() < 0.25
    return drums, bass, chords, pad, melody


def pick_other(rng, names, avoid):
    """A program name from `names`, different from `avoid` when the style allows it."""
    others = [n for n in names if n != avoid]
    return rng.choice(others or list(names))


def compose_piece(label, style_name, key, seconds):
    """Compose one piece from its seed label, in a given style and key (tonic pitch class)."""
    rng = random.Random(label)
    style = STYLES[style_name]
    piece = Piece(label, style, tempo=rng.randint(*style.tempo), key=key,
                  mode=rng.choice(style.modes), meter=rng.choice(style.meters),
                  density=rng.choice(style.densities))
    bar_seconds = piece.beats * 60 / piece.tempo
    piece.n_bars = math.ceil((seconds + TAIL_SECONDS) / bar_seconds)
    plan_harmony(rng, piece)
    drums, bass, chords, pad, melody = choose_parts(rng, piece)
    chord_program = rng.choice(style.chords)
    melody_program = pick_other(rng, style.melody, chord_program)
    pad_program = rng.choice(("strings", "warm_pad", "slow_strings", "choir_aahs", "halo_pad"))
    channels = iter((0, 1, 2, 3))

    def part_rng(name):   # a stream per part: changing one part leaves the others as they were
        return random.Random(f"{label}/{name}")

    if drums:
        piece.parts.append(compose_drums(part_rng("drums"), piece, DRUM_CHANNEL))
    if bass:
        piece.parts.append(compose_bass(part_rng("bass"), piece, next(channels)))
    if chords:
        piece.parts.append(compose_chords(part_rng("chords"), piece, next(channels),
                                          GM[chord_program]))
    if pad:
        piece.parts.append(compose_chords(part_rng("pad"), piece, next(channels),
                                          GM[pad_program], name="pad"))
    if melody:
        piece.parts.append(compose_melody(part_rng("melody"), piece, next(channels),
                                          melody_program))
    return piece

# ----------------------------------------------------------------------------- MIDI file


def vlq(value):
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def meta(kind, data):
    return bytes((0xFF, kind)) + vlq(len(data)) + data


def track_chunk(events):
    """An MTrk chunk from (tick, order, bytes); at one tick: setup, then note-offs, then ons."""
    body = bytearray()
    last = 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        body += vlq(tick - last) + data
        last = tick
    body += vlq(0) + meta(0x2F, b"")
    return b"MTrk" + struct.pack(">I", len(body)) + body


def conductor_track(piece):
    beats = piece.beats
    sharps = MAJOR_KEY_SHARPS[piece.key if piece.mode == "major" else (piece.key + 3) % 12]
    events = [
        (0, 0, meta(0x03, piece.label.encode())),
        (0, 0, meta(0x58, bytes((beats, 2, 24, 8)))),   # beats/quarter, 24 clocks, 8 32nds
        (0, 0, meta(0x59, struct.pack(">bB", sharps, piece.mode == "minor"))),
        (0, 0, meta(0x51, round(60_000_000 / piece.tempo).to_bytes(3, "big"))),
    ]
    return track_chunk(events)


def without_same_pitch_overlaps(notes):
    """Cut a note short where its pitch starts again, so its note-off cannot end the new one."""
    out = []
    for start, length, pitch, velocity in sorted(notes, key=lambda n: (n[2], n[0], -n[3])):
        if out and out[-1][2] == pitch and out[-1][0] + out[-1][1] > start:
            prev_start, prev_length, _, prev_velocity = out.pop()
            if prev_start == start:   # two notes at one tick: keep one, as loud and long as both
                velocity, length = max(velocity, prev_velocity), max(length, prev_length)
            else:
                out.append((prev_start, start - prev_start, pitch, prev_velocity))
        out.append((start, length, pitch, velocity))
    return sorted(out)


def part_track(part):
    c = part.channel
    control = lambda number, value: bytes((0xB0 | c, number, value))
    events = [
        (0, 0, meta(0x03, part.name.encode())),
        (0, 0, bytes((0xC0 | c, part.program))),
        (0, 0, control(7, part.volume)),
        (0, 0, control(10, min(127, max(0, part.pan)))),
        (0, 0, control(91, min(127, part.reverb))),
        (0, 0, control(93, part.chorus)),
    ]
    for start, length, pitch, velocity in without_same_pitch_overlaps(part.notes):
        events.append((start, 2, bytes((0x90 | c, pitch, velocity))))
        events.append((start + length, 1, bytes((0x80 | c, pitch, 64))))
    return track_chunk(events)


def write_midi(path, piece):
    """Format 1 file: a conductor track (tempo, meter, key), then one track per part."""
    tracks = [conductor_track(piece)] + [part_track(p) for p in piece.parts]
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), PPQ))
        for track in tracks:
            f.write(track)

# ----------------------------------------------------------------------------- audio


def render_with_fluidsynth(midi_path, soundfont, raw_path):
    """Stereo float32 samples. Float output has no dither, so reruns give the same bytes."""
    command = ["fluidsynth", "-ni", "-q", "-g", str(FLUIDSYNTH_GAIN), "-r", str(SAMPLE_RATE),
               "-R", "1", "-C", "1", "-o", "synth.cpu-cores=1",
               "-T", "raw", "-O", "float", "-E", "little", "-F", raw_path, soundfont, midi_path]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not os.path.exists(raw_path) or os.path.getsize(raw_path) == 0:
        raise RuntimeError(f"fluidsynth failed on {midi_path}: {result.stderr.strip()}")
    return np.fromfile(raw_path, dtype="<f4").reshape(-1, 2)


def to_mono_clip(stereo, seconds):
    """Average the channels, then cut or zero-pad to exactly `seconds`."""
    n = round(seconds * SAMPLE_RATE)
    mono = stereo.astype(np.float64).mean(axis=1)[:n]
    return np.pad(mono, (0, n - len(mono)))


def normalize_peak(samples):
    """Scale the peak to PEAK_DBFS; a silent clip is left as it is. Returns (samples, silent)."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak < 1e-6:
        return samples, True
    return samples * (10 ** (PEAK_DBFS / 20) / peak), False


def active_level_db(samples):
    """Loudness of a part while it plays: mean power of the 100 ms windows within 30 dB of
    the loudest one, so a sparse melody is not measured as quiet because of its rests."""
    window = SAMPLE_RATE // 10
    n = len(samples) // window * window
    if n == 0:
        return None
    power = (samples[:n].reshape(-1, window) ** 2).mean(axis=1)
    if power.max() <= 1e-12:
        return None
    return 10 * math.log10(power[power >= power.max() * 1e-3].mean())


def balance_parts(rng, piece, soundfont, midi_path, raw_path):
    """Render each part alone, then set its channel volume so the parts sit at MIX_LEVELS.

    GM instruments in a soundfont differ in loudness by 10 dB and more; without this a piano
    melody can vanish under a harp. fluidsynth scales a channel by 40*log10(CC7/127) dB.
    """
    gains = {}
    for part in piece.parts:
        part.volume = 100
        write_midi(midi_path, dataclasses.replace(piece, parts=[part]))
        level = active_level_db(render_with_fluidsynth(midi_path, soundfont, raw_path).mean(axis=1))
        if level is not None:   # a part the soundfont leaves silent keeps its volume
            gains[part.name] = MIX_LEVELS[part.name] + rng.uniform(-2, 2) - level
    top = max(gains.values(), default=0.0)
    for part in piece.parts:
        if part.name in gains:
            part.volume = max(1, round(127 * 10 ** ((gains[part.name] - top) / 40)))
    os.remove(raw_path)


def write_wav(path, samples):
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return pcm


def rms_dbfs(pcm):
    rms = math.sqrt(float(np.mean((pcm.astype(np.float64) / 32768) ** 2))) if len(pcm) else 0.0
    return 20 * math.log10(rms) if rms > 0 else float("-inf")

# ----------------------------------------------------------------------------- the run


@dataclasses.dataclass
class Job:
    name: str          # "train/piece_000.wav"
    label: str         # seed label "K/train/0"
    style: str
    key: int           # tonic pitch class


def shuffled_round_robin(rng, items, count):
    """`count` items drawn as shuffled passes over `items`, so every item comes up evenly."""
    out = []
    while len(out) < count:
        batch = list(items)
        rng.shuffle(batch)
        out += batch
    return out[:count]


def plan_jobs(seed, counts):
    """Styles and tonics per split in shuffled round-robins, so all of them are represented."""
    jobs = []
    for split, count in counts:
        rng = random.Random(f"{seed}/{split}/plan")
        styles = shuffled_round_robin(rng, sorted(STYLES), count)
        keys = shuffled_round_robin(rng, range(12), count)
        jobs += [Job(f"{split}/piece_{i:03d}.wav", f"{seed}/{split}/{i}", styles[i], keys[i])
                 for i in range(count)]
    return jobs


def make_piece(job, outdir, seconds, soundfont, tmpdir, keep_midi):
    """Compose, render and save one piece; returns its manifest line, loudness and flags."""
    piece = compose_piece(job.label, job.style, job.key, seconds)
    stem = job.name.replace("/", "_")[:-4]
    midi_path = os.path.join(tmpdir, stem + ".mid")
    raw_path = os.path.join(tmpdir, stem + ".raw")
    balance_parts(random.Random(f"{job.label}/mix"), piece, soundfont, midi_path, raw_path)
    write_midi(midi_path, piece)
    stereo = render_with_fluidsynth(midi_path, soundfont, raw_path)
    os.remove(raw_path)
    padded = len(stereo) < round(seconds * SAMPLE_RATE)   # the score should always outlast S
    samples, silent = normalize_peak(to_mono_clip(stereo, seconds))
    wav_path = os.path.join(outdir, job.name)
    pcm = write_wav(wav_path, samples)
    if keep_midi:
        shutil.copyfile(midi_path, wav_path[:-4] + ".mid")
    return f"{job.name} {piece.describe()}", rms_dbfs(pcm), silent, padded


def remove_stale_outputs(outdir, jobs, keep_midi):
    """Delete piece files an earlier run left behind (more pieces, or --keep-midi), so the
    folders match the manifest."""
    wanted = {j.name[:-4] for j in jobs}
    for split in ("train", "heldout"):
        folder = os.path.join(outdir, split)
        for name in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(name)
            ours = name.startswith("piece_") and ext in (".wav", ".mid")
            unwanted = f"{split}/{stem}" not in wanted or (ext == ".mid" and not keep_midi)
            if ours and unwanted:
                os.remove(os.path.join(folder, name))
                print(f"removed stale {split}/{name}")


def pick_soundfont(requested):
    if requested:
        if not os.path.isfile(requested):
            sys.exit(f"soundfont not found: {requested}")
        return requested
    for path in SOUNDFONTS:
        if os.path.isfile(path):
            return path
    sys.exit("no soundfont: apt-get install fluid-soundfont-gm (or timgm6mb-soundfont), "
             "or pass --soundfont")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--train", type=int, default=40, help="training pieces (default 40)")
    parser.add_argument("--heldout", type=int, default=6, help="held-out pieces (default 6)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of each WAV (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="base seed (default 1)")
    parser.add_argument("--soundfont", help="SF2 file (default FluidR3_GM, else TimGM6mb)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel renders (default 2)")
    parser.add_argument("--keep-midi", action="store_true",
                        help="keep piece_NNN.mid next to each WAV")
    args = parser.parse_args()
    if args.train < 0 or args.heldout < 0 or args.seconds <= 0 or args.jobs < 1:
        parser.error("counts must be >= 0, --seconds > 0 and --jobs >= 1")
    return args


def main():
    args = parse_args()
    if shutil.which("fluidsynth") is None:
        sys.exit("fluidsynth not found: apt-get install fluidsynth")
    soundfont = pick_soundfont(args.soundfont)
    jobs = plan_jobs(args.seed, (("train", args.train), ("heldout", args.heldout)))
    for split in ("train", "heldout"):
        os.makedirs(os.path.join(args.outdir, split), exist_ok=True)
    remove_stale_outputs(args.outdir, jobs, args.keep_midi)
    print(f"{len(jobs)} pieces of {args.seconds:g} s, soundfont {soundfont}, {args.jobs} jobs")
    began = time.monotonic()
    lines, silent = [], []
    with tempfile.TemporaryDirectory(prefix="make_music_") as tmpdir, \
            ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(make_piece, job, args.outdir, args.seconds, soundfont, tmpdir,
                               args.keep_midi) for job in jobs]
        for job, future in zip(jobs, futures):
            line, loudness, is_silent, padded = future.result()
            lines.append(line)
            if is_silent:
                silent.append(job.name)
            flags = "  SILENT" if is_silent else ""
            flags += "  (render short, padded)" if padded else ""
            print(f"{job.name:24s} {job.style:11s} rms {loudness:6.1f} dBFS{flags}")
    header = (f"# make_music.py seed={args.seed} seconds={args.seconds:g} "
              f"soundfont={os.path.basename(soundfont)} rate={SAMPLE_RATE} mono 16-bit")
    with open(os.path.join(args.outdir, "manifest.txt"), "w") as f:
        f.write("\n".join([header] + lines) + "\n")
    total = sum(os.path.getsize(os.path.join(args.outdir, j.name)) for j in jobs)
    print(f"done: {len(jobs)} files, {total / 1e6:.1f} MB, {time.monotonic() - began:.1f} s")
    if silent:
        print(f"warning: {len(silent)} silent file(s): {' '.join(silent)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
