"""The CUDA 12 cuBLAS that CTranslate2 needs, loaded from the ``gpu`` extra's wheels.

CTranslate2 4.8.5 (Whisper) opens ``libcublas.so.12`` by name on its first CUDA call, but
torch 2.14.1 brings the CUDA 13 libraries (``libcublas.so.13``): without more, Whisper on
CUDA fails after the whole screen pass (faster-whisper issue 1431). ``make install-gpu``
installs the ``gpu`` extra, ``nvidia-cublas-cu12``, into ``site-packages/nvidia/cublas/lib``,
a folder the dynamic loader does not search. :func:`preload_cuda12` loads those files with
``RTLD_GLOBAL``; CTranslate2's own ``dlopen("libcublas.so.12")`` then finds the library
already loaded, by its soname.

Only cuBLAS: the CTranslate2 4.8.5 wheel names no cuDNN library, and ``nvidia-cudnn-cu12``
would install its ``libcudnn.so.9`` into ``nvidia/cudnn/lib``, the very files of torch's
``nvidia-cudnn-cu13``, breaking torch on CUDA."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

# In load order: libcublas.so.12 needs libcublasLt.so.12 (its RUNPATH is $ORIGIN).
CUDA12_LIBS = ("cublas/lib/libcublasLt.so.12", "cublas/lib/libcublas.so.12")

_loaded: dict[str, ctypes.CDLL] = {}  # kept referenced: never unloaded while the process runs


def search_roots() -> list[Path]:
    """The ``nvidia`` folders of this interpreter's import path (its site-packages), in
    import order: the wheels install there."""
    roots: list[Path] = []
    for entry in sys.path:
        root = Path(entry or ".") / "nvidia"
        if root.is_dir() and root not in roots:
            roots.append(root)
    return roots


def preload_cuda12() -> list[str]:
    """Load the CUDA 12 cuBLAS of the ``gpu`` extra, globally, so that CTranslate2 finds it.
    Call it before ``ctranslate2`` is imported, when the device is CUDA.

    Returns the paths loaded (again on a later call, without loading twice): ``[]`` when
    the extra is not installed, a CPU host, and then nothing is done. A file that is
    installed but does not load (wrong architecture, a missing dependency) raises
    ``OSError`` naming it: the CUDA stack is broken, and the caller must say so."""
    for root in search_roots():
        paths = [root / rel for rel in CUDA12_LIBS]
        if not all(p.is_file() for p in paths):
            continue
        for p in paths:
            if str(p) not in _loaded:
                _loaded[str(p)] = ctypes.CDLL(str(p), mode=ctypes.RTLD_GLOBAL)
        return [str(p) for p in paths]
    return []
