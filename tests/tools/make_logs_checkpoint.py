#!/usr/bin/env python3
"""Writes tests/data/logs_ckpt.pth: a small checkpoint shaped like a trainer-saved release file:
OrderedDict state_dict with _metadata, storages tagged 'cuda:0', and metadata.logs holding a
defaultdict whose factory is a module-level function (an unknown global to our reader).
Run once with Debian's python3-torch; the output is committed."""
import collections
import io
import sys
import types

import torch

# A function global the loader cannot import, like audiotools.ml.decorators.default_list.
mod = types.ModuleType("audiotools.ml.decorators")
def default_list():
    return []
default_list.__module__ = "audiotools.ml.decorators"
mod.default_list = default_list
sys.modules["audiotools"] = types.ModuleType("audiotools")
sys.modules["audiotools.ml"] = types.ModuleType("audiotools.ml")
sys.modules["audiotools.ml.decorators"] = mod

sd = collections.OrderedDict()
sd["layer.weight"] = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd["layer.bias"] = torch.tensor([1.5, -2.0, 3.25])
big = torch.arange(10, dtype=torch.float32)
sd["view.weight"] = big[2:8].reshape(2, 3)  # a view into a larger storage
sd._metadata = collections.OrderedDict({"": {"version": 1}, "layer": {"version": 1}})
logs = {"val": collections.defaultdict(default_list, {"loss": [1.0, 0.5], "step": [10, 20]})}
obj = {"state_dict": sd, "metadata": {"kwargs": {"dim": 4, "rates": [2, 3]}, "logs": logs}}

buf = io.BytesIO()
torch.save(obj, buf, pickle_protocol=2)
data = buf.getvalue()
# Re-tag storages as saved from a GPU: same length string swap keeps the zip valid only if we
# rewrite via zipfile, so rebuild the archive.
import zipfile
src = zipfile.ZipFile(io.BytesIO(data))
out = zipfile.ZipFile(sys.argv[1] if len(sys.argv) > 1 else "logs_ckpt.pth", "w", zipfile.ZIP_STORED)
for info in src.infolist():
    payload = src.read(info)
    if info.filename.endswith("data.pkl"):
        payload = payload.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    out.writestr(info.filename, payload)
out.close()
