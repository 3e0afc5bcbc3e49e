#!/usr/bin/env python3
"""The engine's layering, checked at every build (engine/meson.build runs this; a violation fails it).

- gst/ includes only vamp/vamp.h of the engine, and no ATen, c10 or torch header.
- engine/include/vamp/ (the public API) includes only its own headers and system headers.
- engine/tools/ and engine/train/ include the public API (vamp/...), their own headers and
  train/..., never the library's private headers (engine/src/).
- engine/src/ includes public headers as vamp/x.h and private ones by name.
- The engine's header graph has no cycle (no include runs back up).
Usage: check_layers.py SOURCE_ROOT [STAMP]   (writes STAMP when all rules hold)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def sources(folder, exts=(".h", ".cpp", ".c")):
    for name in sorted(os.listdir(folder)):
        if name.endswith(exts):
            yield os.path.join(folder, name)


def main():
    root = sys.argv[1]
    pub = os.path.join(root, "engine", "include", "vamp")
    src = os.path.join(root, "engine", "src")
    public = set(os.listdir(pub))
    private = {n for n in os.listdir(src) if n.endswith(".h")}
    errors = []
    for f in sources(os.path.join(root, "gst")):
        for kind, inc in includes(f):
            if inc.split("/")[0] in ("ATen", "c10", "torch"):
                errors.append(f"{f}: includes {inc}: gst/ must not see torch")
            elif kind == '"' and (inc.startswith("vamp/") and inc != "vamp/vamp.h" or inc in public | private):
                errors.append(f"{f}: includes {inc}: gst/ includes only vamp/vamp.h of the engine")
    for f in sources(pub):
        for kind, inc in includes(f):
            if kind == '"' and inc not in public:
                errors.append(f"{f}: includes {inc}: the public API includes only its own headers")
    for folder in ("tools", "train"):
        d = os.path.join(root, "engine", folder)
        own = {n for n in os.listdir(d) if n.endswith(".h")}
        for f in sources(d):
            for kind, inc in includes(f):
                if kind != '"':
                    continue
                ok = inc in own or (inc.startswith("vamp/") and inc[5:] in public) or inc.startswith("train/")
                if not ok:
                    errors.append(f"{f}: includes {inc}: engine/{folder} uses the public API (vamp/...)")
    graph = {}
    for f in list(sources(pub)) + list(sources(src)):
        deps = []
        for kind, inc in includes(f):
            if kind != '"':
                continue
            if f.startswith(src) and inc in public:
                errors.append(f"{f}: includes {inc}: write vamp/{inc}")
            name = inc[5:] if inc.startswith("vamp/") else inc
            if name in public or name in private:
                deps.append(name)
        if f.endswith(".h"):
            graph[os.path.basename(f)] = deps
    state = {}

    def visit(node, trail):
        if state.get(node) == 1:
            errors.append("include cycle: " + " -> ".join(trail[trail.index(node):] + [node]))
            return
        if state.get(node) == 2:
            return
        state[node] = 1
        for d in graph.get(node, []):
            visit(d, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        visit(node, [])
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
