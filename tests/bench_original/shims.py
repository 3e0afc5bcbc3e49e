"""Stand-ins for the original VampNet's Python dependencies that Debian does not package and that
its generation path never calls: they are imported at module level (training loop and logs,
audio file, DSP and loudness helpers, the Hugging Face download helpers, the beat tracker), so
`import vampnet` fails without them, but Interface.vamp on codes, VampNet.generate and LAC.load
run none of their code. Two more adjustments, neither inside the original's code:
- importlib_resources (a backport) is the standard library's importlib.resources when missing;
- torch.autocast("cuda", ...) is a no-op when torch has no CUDA (see _cpu_only_cuda_autocast).

install() appends a finder at the END of sys.meta_path: a name listed in STUBBED is stubbed only
when no real module of that name can be imported, so an installed package always wins. A stub
module answers every attribute with a placeholder class; calling or instantiating a placeholder
raises, so a stub that is actually used fails loudly instead of changing what is computed.
used() lists the stubs that were imported in this process; run_original.py prints it.

The compute path's own dependencies are never stubbed: torch, numpy, einops and loralib (the
last two come from the sources directory, see bench_original.py) and tqdm (Debian python3-tqdm).
"""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

# Top-level modules (and everything under them) that may be stubbed, with where the original
# imports them. None of these is reached by Interface.vamp / VampNet.generate / LAC.load.
STUBBED = {
    "huggingface_hub": "vampnet/__init__.py (model download helpers)",
    "librosa": "vampnet/beats.py (WaveBeat beat tracker, not loaded: wavebeat_ckpt=None)",
    "julius": "audiotools.core (AudioSignal resampling and filters)",
    "torchaudio": "audiotools.core (AudioSignal effects, STFT helpers)",
    "scipy": "audiotools.core.loudness (audio loudness meter)",
    "flatten_dict": "audiotools.core.util, audiotools.data.transforms",
    "ffmpy": "audiotools.core.ffmpeg (audio file loading via ffmpeg)",
    "rich": "audiotools.ml.decorators / trainer (progress tables)",
    "randomname": "audiotools.ml.experiment (experiment folder names)",
    "ignite": "audiotools.ml.trainer (training loop)",
    "torch.utils.tensorboard": "audiotools.ml.decorators (training logs)",
    "torch.compiler": "audiotools.core.audio_signal (`import torch.compiler`, only in comments; "
                      "not in torch 1.13)",
}

# Backports whose standard-library original is here: the stub is the standard module itself.
ALIASED = {
    "importlib_resources": "importlib.resources",  # audiotools.core.playback reads a template at import
}

# Placeholders that the original calls at import time: calling them gives an object on which any
# attribute use raises.
CALLED_AT_IMPORT = {
    "huggingface_hub.HfFileSystem",  # vampnet/__init__.py: FS = HfFileSystem()
}

_used = []


class _Inert:
    def __init__(self, qualname):
        object.__setattr__(self, "_qualname", qualname)

    def __getattr__(self, name):
        raise RuntimeError(f"{self._qualname}().{name}: a stub (tests/bench_original/shims.py) was used")


class _Placeholder(type):
    """Metaclass of the placeholder classes: any use beyond naming them raises."""

    def __call__(cls, *args, **kwargs):
        if cls.__qualname__ in CALLED_AT_IMPORT:
            return _Inert(cls.__qualname__)
        raise RuntimeError(f"{cls.__qualname__} comes from a stub (tests/bench_original/shims.py); "
                           "the benchmark reached code it claims not to run")

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(f"{cls.__qualname__}.{name}")


def _placeholder(qualname):
    return _Placeholder(qualname.rsplit(".", 1)[-1], (), {"__qualname__": qualname})


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _placeholder(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []  # a package, so that `import rich.progress` finds a stub too
        module.__version__ = "0+stub"
        _used.append(module.__name__)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if not any(fullname == n or fullname.startswith(n + ".") for n in STUBBED):
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)


def _cpu_only_cuda_autocast():
    """The original wraps both generation stages in torch.autocast("cuda", dtype=bfloat16).
    Without CUDA, later torch versions warn and disable it; 1.13 disables it too but then asks
    the missing CUDA device whether it supports bf16, and raises. Make it the no-op it is on the
    CPU either way."""
    import contextlib
    import torch

    if torch.cuda.is_available():
        return
    real = torch.autocast

    def autocast(device_type, *args, **kwargs):
        if device_type == "cuda":
            return contextlib.nullcontext()
        return real(device_type, *args, **kwargs)

    torch.autocast = autocast
    _used.append("torch.autocast('cuda') = no-op (no CUDA)")


def install():
    sys.meta_path.append(_Finder())
    _cpu_only_cuda_autocast()
    for name, target in ALIASED.items():
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = importlib.import_module(target)
            _used.append(f"{name} = {target}")
    # torch 1.13 has torch/utils/tensorboard, which raises ImportError without the tensorboard
    # package instead of being absent; stub it only when the real one cannot be imported.
    try:
        importlib.import_module("torch.utils.tensorboard")
    except Exception:
        sys.modules.pop("torch.utils.tensorboard", None)
        spec = importlib.machinery.ModuleSpec("torch.utils.tensorboard", _Loader(), is_package=True)
        module = _StubModule(spec.name)
        module.__spec__ = spec
        _Loader().exec_module(module)
        sys.modules["torch.utils.tensorboard"] = module


def used():
    return sorted(_used)
