"""``anonymizer.cuda_libs.preload_cuda12`` (issue 19, item 2), on CPU: a fake ``nvidia/cublas/lib``
holding two real shared objects compiled here, named as the CUDA 12 cuBLAS files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anonymizer import cuda_libs

ROOT = Path(__file__).resolve().parents[2]


def _fake_site(tmp_path: Path) -> Path:
    """A site folder whose ``nvidia/cublas/lib`` holds a ``libcublasLt.so.12`` and a
    ``libcublas.so.12`` (which needs the first, by soname, as the real one does)."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.fail("cc is needed (make system-deps installs it)")
    lib = tmp_path / "site" / "nvidia" / "cublas" / "lib"
    lib.mkdir(parents=True)
    for soname, body, extra in (
        ("libcublasLt.so.12", "int fake_cublaslt_version(void) { return 12; }", []),
        ("libcublas.so.12", "int fake_cublaslt_version(void);\nint fake_cublas_version(void) { return fake_cublaslt_version() * 100; }",
         ["-L", str(lib), "-l:libcublasLt.so.12", "-Wl,-rpath,$ORIGIN"]),
    ):
        src = tmp_path / f"{soname}.c"
        src.write_text(body + "\n", encoding="utf-8")
        subprocess.run([cc, "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(lib / soname), str(src), *extra], check=True)
    return tmp_path / "site"


# Run in a child: a fake libcublas.so.12 must never be loaded into the test process, which
# on a GPU host may run CTranslate2 later.
_CHILD = """
import ctypes, json, sys
from anonymizer import cuda_libs
first = cuda_libs.preload_cuda12()
again = cuda_libs.preload_cuda12()
# RTLD_GLOBAL: the symbols are in the process's global scope, and a later dlopen by soname
# alone (what CTranslate2 does) finds the library already loaded.
glob = ctypes.CDLL(None).fake_cublas_version()
by_name = ctypes.CDLL("libcublas.so.12").fake_cublas_version()
print(json.dumps({"first": first, "again": again, "glob": glob, "by_name": by_name}))
"""


def test_preload_loads_the_cuda12_cublas_of_the_gpu_extra(tmp_path: Path) -> None:
    site = _fake_site(tmp_path)
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {_CHILD}"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    lib = site / "nvidia" / "cublas" / "lib"
    assert out["first"] == [str(lib / "libcublasLt.so.12"), str(lib / "libcublas.so.12")]
    assert out["again"] == out["first"]
    assert out["glob"] == out["by_name"] == 1200


def test_preload_does_nothing_without_the_gpu_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "site"
    (empty / "nvidia" / "cu13" / "lib").mkdir(parents=True)  # torch's CUDA 13 layout, no cublas/
    (empty / "nvidia" / "cu13" / "lib" / "libcublas.so.13").write_bytes(b"not loaded")
    monkeypatch.setattr(sys, "path", [str(empty), str(tmp_path / "missing")])
    monkeypatch.setattr(cuda_libs, "_loaded", {})
    assert cuda_libs.search_roots() == [empty / "nvidia"]
    assert cuda_libs.preload_cuda12() == []
    assert cuda_libs._loaded == {}


def test_preload_names_an_installed_file_that_does_not_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "site" / "nvidia" / "cublas" / "lib"
    lib.mkdir(parents=True)
    for name in ("libcublasLt.so.12", "libcublas.so.12"):
        (lib / name).write_bytes(b"\x7fELF truncated")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
    monkeypatch.setattr(cuda_libs, "_loaded", {})
    with pytest.raises(OSError, match=re.escape("libcublasLt.so.12")):
        cuda_libs.preload_cuda12()
