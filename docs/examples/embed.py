#!/usr/bin/python3
"""Embedding gst-vampnet in a Python application (GObject introspection): a file or a
synthesized chord in, a VampNet variation out, pulled from an appsink as numpy-free bytes.

    GST_PLUGIN_PATH=<build>/gst /usr/bin/python3 embed.py [seconds] [steps]

Needs python3-gi and gir1.2-gstreamer-1.0 (Debian). The models come from VAMPNET_MODELS or the
build's default set. Exits 77 (meson's "skipped") when gi is missing.
"""
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
except (ImportError, ValueError) as e:
    print(f"skipped: GObject introspection for GStreamer is missing ({e})")
    sys.exit(77)

RATE, HOP = 44100, 768


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    Gst.init(None)
    buffers = int(seconds * 100)
    pipe = Gst.parse_launch(
        f"audiotestsrc num-buffers={buffers} samplesperbuffer=441 freq=220 ! "
        "audioconvert ! audioresample ! audio/x-raw,channels=1 ! "
        "vampenc ! vampmask name=mask periodic-prompt=7 ! "
        f"vampsample name=sample seed=1 steps={steps} c2f-steps=1 ! "
        "vampdec ! appsink name=out sync=false emit-signals=false"
    )
    sink = pipe.get_by_name("out")
    bus = pipe.get_bus()
    if pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        print("could not start:", msg.parse_error()[0].message if msg else "?", file=sys.stderr)
        return 1

    samples = 0
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:  # EOS
            break
        samples += sample.get_buffer().get_size() // 4  # F32 mono

    rc = 0
    while True:
        msg = bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.ELEMENT)
        if msg is None:
            break
        if msg.type == Gst.MessageType.ERROR:
            print("error:", msg.parse_error()[0].message, file=sys.stderr)
            rc = 1
        elif msg.get_structure().get_name() == "vampsample":
            s = msg.get_structure()
            print(f"window {s.get_value('window')}: real-time factor {s.get_value('realtime-factor'):.2f}")
    pipe.set_state(Gst.State.NULL)

    total = buffers * 441
    expected = -(-total // HOP) * HOP
    print(f"generated {samples} samples ({samples / RATE:.2f} s) from {total} input samples")
    if samples != expected:
        print(f"expected {expected} samples", file=sys.stderr)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
