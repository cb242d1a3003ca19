"""``anonymizer check``: the pre-flight for the nightly job and for a new host.

One line per item (``ok``, ``FAIL``, or ``note`` for what is not checked and why), then exit
0, or 2 when any item failed. Nothing is downloaded and no network call is made: model
files are hashed against ``models/manifest.py``, paths are tried with a temporary file
that is removed at once, CUDA is asked of the installed torch and CTranslate2."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

_PATH = click.Path(path_type=Path)
# Below this the night's outputs, the quarantine or the joined Whisper base (150 MB) may not
# fit: one 10-min call's MP4 is ~50-100 MB, and a full disk fails a run late.
MIN_FREE_BYTES = 2 << 30
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


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


def check_cuda(r: Report, device: str) -> None:
    index = int(device.split(":")[1]) if ":" in device else 0
    for lib, seen in cuda_counts():
        if isinstance(seen, str):
            r.fail(f"cuda: {lib} cannot tell ({seen})")
        elif seen > index:
            r.ok(f"cuda: {lib} sees {seen} GPU(s)")
        elif device.startswith("cuda"):
            r.fail(f"cuda: {lib} sees {seen} GPU(s) but --device {device} was asked")
        else:
            r.ok(f"cuda: {lib} sees no GPU: cpu only")


@click.command("check")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]", help="The device the runs will ask for.")
@click.option("--policy", type=_PATH, help="TOML policy file the runs will use.")
@click.option("--roster", type=_PATH, help="HR roster CSV the runs will use.")
@click.option("--out", "out", type=_PATH, default=Path("."), show_default=True, help="Output folder the runs will write to.")
def check_cmd(device: str, policy: Path | None, roster: Path | None, out: Path) -> None:
    """Pre-flight: models, policy, roster, paths, disk and CUDA; exit 0, or 2 if any item failed."""
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
    if r.failed:
        click.echo(f"check: {r.failed} item(s) failed", err=True)
        raise SystemExit(ConfigError.exit_code)


def register(cli: click.Group) -> None:
    cli.add_command(check_cmd)
