"""``anonymizer check``: the pre-flight for the nightly job and for a new host.

One line per item (``ok``, ``FAIL``, or ``note`` for what is not checked and why), then exit
0, or 2 when any item failed. Nothing is downloaded and no network call is made: model
files are hashed against ``models/manifest.py``, paths are tried with a temporary file
that is removed at once, CUDA is asked of the installed torch and CTranslate2, each H.264
encoder is opened on one small frame in memory. ``--time-clip`` also generates a short
call (``benchmarks.corpus``, from the source checkout) and anonymizes it with the real
pipeline into a temporary folder, for the expected wall / media on this host."""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

_PATH = click.Path(path_type=Path)
# Below this the night's outputs, the quarantine or the joined Whisper base (150 MB) may not
# fit: one 10-min call's MP4 is ~50-100 MB, and a full disk fails a run late.
MIN_FREE_BYTES = 2 << 30
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
# The --time-clip call: the size of the test suite's sample (tests/conftest.py), long
# enough for speech: 14 s of wall on 2 idle cores (check with it: 18 s, without: 2.4 s), but
# 85 s when the cores are shared with a test run (EasyOCR's detector and the verify pass),
# hence opt-in. 320x180 for 2 s, the test's clip, still takes 10-19 s, mostly model loading.
CLIP_W, CLIP_H, CLIP_S = 640, 360, 8.0


class Report:
    """The lines printed so far, and whether one failed."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.failed = 0

    def ok(self, what: str) -> None:
        self.echo(f"ok   {what}")

    def fail(self, what: str) -> None:
        self.failed += 1
        self.echo(f"FAIL {what}")

    def note(self, what: str) -> None:
        self.echo(f"note {what}")


def check_models(r: Report) -> None:
    import models

    for bundle, find in models.bundled():
        try:
            directory = find()
        except models.ModelNotFound as exc:
            r.fail(f"models: {bundle.name}: {exc}")
        else:
            r.ok(f"models: {bundle.name} {len(bundle.files)} files sha256 ({directory})")
    r.note(f"models: {models.USER_MODEL_NOTE}")


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def writable_dir(path: Path) -> str | None:
    """None when a file can be created in ``path`` (or, if it does not exist yet, in the
    folder that would hold it); else why not. Tried with a temporary file, removed at once."""
    base = _nearest_existing(path)
    if not base.is_dir():
        return f"{base} is not a folder"
    try:
        fd, name = tempfile.mkstemp(prefix=".anonymizer-check-", dir=base)
    except OSError as exc:
        return f"{base} is not writable ({exc.strerror})"
    os.close(fd)
    os.unlink(name)
    return None


def writable_file(path: Path) -> str | None:
    """None when ``path`` can be appended to (or created); else why not. An existing file
    is opened for appending and closed: its bytes and times do not change."""
    if path.is_dir():
        return f"{path} is a folder"
    if not path.exists():
        return writable_dir(path.parent)
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        return f"{path} is not writable ({exc.strerror})"
    return None


def _quarantine(config: Any, out: Path) -> Path:
    """Where a run would quarantine an output written to ``out``: the pipeline's own rule."""
    return Path(config.policy.quarantine_path())


def check_paths(r: Report, config: Any, out: Path) -> None:
    import models

    audit_log = getattr(config.policy, "audit_log", "")
    if audit_log:
        why = writable_file(Path(audit_log))
        (r.fail if why else r.ok)(f"audit log: {why or audit_log}")
    else:
        r.note("audit log: none configured (policy.audit_log)")
    folders = {"output": out, "quarantine": _quarantine(config, out), "model cache": models.cache_root()}
    for what, folder in folders.items():
        why = writable_dir(folder)
        (r.fail if why else r.ok)(f"{what}: {why or f'{folder} writable'}")
    seen: set[int] = set()
    for what, folder in folders.items():
        base = _nearest_existing(folder)
        try:
            dev = base.stat().st_dev
            free = shutil.disk_usage(base).free
        except OSError as exc:
            r.fail(f"disk: {what} {base}: {exc.strerror}")
            continue
        if dev in seen:
            continue
        seen.add(dev)
        line = f"disk: {free / (1 << 30):.1f} GiB free for {what} ({base})"
        (r.ok if free >= MIN_FREE_BYTES else r.fail)(line if free >= MIN_FREE_BYTES else f"{line}, below {MIN_FREE_BYTES >> 30} GiB")


def cuda_counts() -> Iterator[tuple[str, int | str]]:
    """(library, CUDA devices it can use, or why it cannot tell) for torch and CTranslate2."""
    try:
        import torch

        yield "torch", torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception as exc:  # noqa: BLE001 - a broken CUDA stack is a finding, not a crash
        yield "torch", f"{type(exc).__name__}: {exc}"
    try:
        import ctranslate2

        yield "CTranslate2", int(ctranslate2.get_cuda_device_count())
    except Exception as exc:  # noqa: BLE001
        yield "CTranslate2", f"{type(exc).__name__}: {exc}"


def preload_cuda12() -> list[str] | str:
    """The CUDA 12 cuBLAS loaded for CTranslate2 (``anonymizer.cuda_libs``), or why it did
    not load. Done before CTranslate2 is first imported, as a run does on CUDA."""
    from anonymizer.cuda_libs import preload_cuda12 as preload

    try:
        return preload()
    except OSError as exc:
        return str(exc)


def check_cuda(r: Report, device: str) -> None:
    index = int(device.split(":")[1]) if ":" in device else 0
    cuda12 = preload_cuda12() if device != "cpu" else []
    ct2_gpus: int | str = 0
    for lib, seen in cuda_counts():
        if lib == "CTranslate2":
            ct2_gpus = seen
        if isinstance(seen, str):
            r.fail(f"cuda: {lib} cannot tell ({seen})")
        elif seen > index:
            r.ok(f"cuda: {lib} sees {seen} GPU(s)")
        elif device.startswith("cuda"):
            r.fail(f"cuda: {lib} sees {seen} GPU(s) but --device {device} was asked")
        else:
            r.ok(f"cuda: {lib} sees no GPU: cpu only")
    # CTranslate2 4.8.5 opens libcublas.so.12 on its first CUDA call; torch brings only the
    # CUDA 13 one (faster-whisper issue 1431; issue 19, item 2).
    if isinstance(cuda12, str):
        r.fail(f"cuda: the CUDA 12 cuBLAS of the gpu extra does not load ({cuda12})")
    elif cuda12:
        r.ok(f"cuda: CUDA 12 cuBLAS for CTranslate2 ({os.path.dirname(cuda12[-1])})")
    elif device == "cpu" or not (isinstance(ct2_gpus, int) and ct2_gpus > 0):
        r.note("cuda: CUDA 12 cuBLAS for CTranslate2 (gpu extra) not installed: not needed on the CPU")
    elif device.startswith("cuda"):
        r.fail("cuda: no CUDA 12 cuBLAS for CTranslate2 (libcublas.so.12): make install-gpu")
    else:
        r.note("cuda: no CUDA 12 cuBLAS for CTranslate2 (libcublas.so.12), so speech cannot run on CUDA: make install-gpu")


def encoder_opens(name: str, device: str = "cpu") -> str | None:
    """None when encoder ``name`` opens and encodes one small frame (in memory, no file:
    ``media.writer.probe_encoder``, the probe a run makes); else why not. NVENC needs a GPU
    with an NVENC unit (the H100 and H200 have none) and a free session."""
    from anonymizer.media.writer import probe_encoder

    try:
        probe_encoder(name, device)
    except Exception as exc:  # noqa: BLE001 - an encoder that does not open is a finding
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def resolved_device(r: Report, device: str) -> str | None:
    """What ``--device`` resolves to in a run (``anonymizer.runtime``: torch and
    CTranslate2 each run one small operation), or None when a run would refuse it."""
    from anonymizer.errors import ConfigError
    from anonymizer.runtime import resolve_device

    try:
        choice = resolve_device(device)
    except ConfigError as exc:
        r.fail(f"device: {exc}")
        return None
    r.ok(f"device: --device {device} runs on {choice.device} ({choice.reason})")
    return choice.device


def check_encoders(r: Report, device: str | None) -> None:
    """Each encoder on one frame, then the one a run on ``device`` (resolved) would use."""
    from anonymizer.media.writer import ENCODERS, choose_encoder

    for name in ENCODERS:
        why = encoder_opens(name, device or "cpu")
        if why is None:
            r.ok(f"encoder: {name} opens")
        elif name == "libx264":
            r.fail(f"encoder: {name} does not open ({why})")
        else:
            # Not a failure, even with --device cuda: runs fall back to libx264 and say so
            # (issue 19, item 3), as they must on an H100/H200, which has no NVENC unit.
            r.note(f"encoder: {name} does not open ({why}); runs encode with libx264")
    if device is not None:
        name, reason = choose_encoder(device)
        r.ok(f"encoder: runs on {device} use {name} ({reason})")


def _corpus() -> Any:
    """``benchmarks.corpus``: on the import path, or beside the installed ``anonymizer``
    (an editable install from the source checkout, as ``make install`` does)."""
    try:
        return importlib.import_module("benchmarks.corpus")
    except ImportError:
        root = Path(__file__).resolve().parents[2]
        if not (root / "benchmarks" / "corpus.py").is_file():
            raise
        sys.path.insert(0, str(root))
        return importlib.import_module("benchmarks.corpus")


def time_clip(config: Any, device: str) -> tuple[float, float, dict[str, float]]:
    """Anonymize one generated ``CLIP_S`` s call with the real pipeline on ``device``, into
    a temporary folder removed after: (wall seconds, media seconds, seconds per stage).
    Models are loaded as in a single ``run`` (a batch loads them once per worker, so its
    per-call wall is lower).

    The policy's settings apply, except its audit log, quarantine folder and report key:
    the clip is not a recording, and leaves no trace outside the temporary folder."""
    from anonymizer import pipeline
    from anonymizer.runtime import with_runtime

    corpus = _corpus()
    with tempfile.TemporaryDirectory(prefix="anonymizer-check-clip-") as tmp_s:
        tmp = Path(tmp_s)
        rec = corpus.generate(tmp / "clip", width=CLIP_W, height=CLIP_H, duration_s=CLIP_S, lang="en", seed=3)
        policy = dataclasses.replace(config.policy, audit_log="", report_key_file="", quarantine_dir=str(tmp / "quarantine"))
        clip_config = with_runtime(dataclasses.replace(config, policy=policy), device)
        (tmp / "out").mkdir()
        t = time.monotonic()
        report = pipeline.run(pipeline.Job(input=rec.video, output=tmp / "out" / "clip.anon.mp4", config=clip_config,
                                           roster=rec.roster, sidecar=rec.sidecar)).report
        wall_s = time.monotonic() - t
    return wall_s, float(report.input.duration_s), dict(report.timings_s)


def check_time(r: Report, config: Any, device: str) -> None:
    from anonymizer.errors import AnonymizerError

    try:
        wall_s, media_s, _ = time_clip(config, device)
    except (AnonymizerError, ImportError, OSError) as exc:
        r.fail(f"time: the generated clip did not anonymize ({type(exc).__name__}: {exc})")
        return
    r.ok(f"time: {wall_s:.1f} s wall for a {media_s:.1f} s call = {wall_s / media_s:.2f}x real time "
         f"(on {device}, models loaded once per run; a batch loads them once per worker)")


@click.command("check")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]", help="The device the runs will ask for.")
@click.option("--policy", type=_PATH, help="TOML policy file the runs will use.")
@click.option("--roster", type=_PATH, help="HR roster CSV the runs will use.")
@click.option("--out", "out", type=_PATH, default=Path("."), show_default=True, help="Output folder the runs will write to.")
@click.option("--time-clip", is_flag=True, help=f"Also anonymize one generated {CLIP_S:.0f} s call and print wall / media (~15 s on 2 idle cores).")
def check_cmd(device: str, policy: Path | None, roster: Path | None, out: Path, time_clip: bool) -> None:
    """Pre-flight: models, policy, roster, paths, disk, CUDA and encoders; exit 0, or 2 if any item failed."""
    from anonymizer.config import Config, load_config
    from anonymizer.detect.roster import load_roster
    from anonymizer.errors import AnonymizerError, ConfigError

    r = Report(click.echo)
    if not _DEVICE.fullmatch(device):
        r.fail(f"device: --device {device!r}: expected auto, cpu, cuda or cuda:N")
    check_models(r)
    config: Any = Config()
    try:
        config = load_config(policy)
        r.ok(f"policy: {policy or 'built-in defaults'} (config sha256 {config.digest()[:16]})")
    except AnonymizerError as exc:
        r.fail(f"policy: {exc}")
    if roster is None:
        r.note("roster: none given (--roster R)")
    else:
        try:
            r.ok(f"roster: {roster} ({len(load_roster(roster))} employees)")
        except (AnonymizerError, OSError, UnicodeError) as exc:
            r.fail(f"roster: {roster}: {exc}")
    check_paths(r, config, out)
    if _DEVICE.fullmatch(device):
        check_cuda(r, device)
        resolved = resolved_device(r, device)
        check_encoders(r, resolved)
        if time_clip and resolved is not None:
            check_time(r, config, resolved)
    if r.failed:
        click.echo(f"check: {r.failed} item(s) failed", err=True)
        raise SystemExit(ConfigError.exit_code)


def register(cli: click.Group) -> None:
    cli.add_command(check_cmd)
