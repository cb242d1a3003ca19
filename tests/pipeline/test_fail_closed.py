"""A failure at any stage publishes nothing: no MP4, no plan, no report, no temp file."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from anonymizer import job as job_files
from anonymizer import pipeline, render
from anonymizer.config import Config, OutputConfig, PolicyConfig, load_config
from anonymizer.errors import ConfigError, ProcessingError
from anonymizer.screen import analyse as screen_analyse
from benchmarks.corpus import RecordingPaths, generate


@pytest.fixture(scope="module")
def models() -> pipeline.Models:
    return pipeline.load_models(load_config(None))


def test_render_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: pipeline.Models) -> None:
    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=5)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def broken_render(src: Path, dst: Path, *args: Any, **kwargs: Any) -> int:
        Path(dst).write_bytes(b"half an mp4")  # the encoder got part way...
        raise ProcessingError("encoder died", path=dst)  # ...and failed

    monkeypatch.setattr(pipeline, "render_video", broken_render)
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(None), roster=rec.roster, sidecar=rec.sidecar)
    with pytest.raises(ProcessingError, match="encoder died"):
        pipeline.run(job, models)
    assert list(out_dir.iterdir()) == []


def test_wrong_frame_count_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: pipeline.Models) -> None:
    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=6)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real_render = pipeline.render_video

    def short_render(*args: Any, **kwargs: Any) -> int:
        return real_render(*args, **kwargs) - 1  # pretend a frame went missing

    monkeypatch.setattr(pipeline, "render_video", short_render)
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(None), roster=rec.roster)
    with pytest.raises(ProcessingError, match="frames"):
        pipeline.run(job, models)
    assert list(out_dir.iterdir()) == []


def test_speech_failure_in_its_thread_leaves_nothing(tmp_path: Path, models: pipeline.Models) -> None:
    """The speech is transcribed in a thread while the screen's text is registered: its
    failure still stops the recording, and nothing is rendered."""
    rec = generate(tmp_path / "in", width=320, height=180, duration_s=1.5, seed=7)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    class DeafTranscriber:
        def words(self, audio: Any) -> list[Any]:
            raise ProcessingError("speech model crashed")

    rendered: list[Path] = []

    def render(src: Path, dst: Path, *args: Any, **kwargs: Any) -> int:
        rendered.append(dst)
        return 0

    deaf = pipeline.Models(ocr=models.ocr, transcriber=DeafTranscriber())  # type: ignore[arg-type]
    job = pipeline.Job(input=rec.video, output=out_dir / "call.anon.mp4", config=load_config(None), roster=rec.roster, sidecar=rec.sidecar)
    with pytest.raises(ProcessingError, match="speech model crashed"):
        pipeline.run(job, deaf, renderer=render)
    assert rendered == [] and list(out_dir.iterdir()) == []


# -- issue 15: paths checked before anything is decoded --------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> RecordingPaths:
    return generate(tmp_path_factory.mktemp("small"), width=320, height=180, duration_s=1.0, seed=9)


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> pipeline.Models:
    """Reading the media fails the test: every path problem must be found before. Returns
    models that would fail too if ever used."""
    def decoded(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the media was read before the paths were checked")

    monkeypatch.setattr(pipeline, "probe", decoded)
    monkeypatch.setattr(screen_analyse, "iter_frames", decoded)
    monkeypatch.setattr(render, "iter_frames", decoded)
    return pipeline.Models(ocr=None, transcriber=None)  # type: ignore[arg-type]


def unwritable_dir(tmp_path: Path) -> Path:
    """A folder no file can be created in. Root ignores mode bits, so for root: sysfs,
    where even root cannot create a file."""
    if os.geteuid() == 0:
        return Path("/sys")
    d = tmp_path / "read-only"
    d.mkdir()
    d.chmod(0o500)
    return d


INPUT_KINDS = ("recording", "audio", "sidecar", "roster", "policy", "access", "audit")


def _inputs(rec: RecordingPaths, tmp_path: Path) -> dict[str, Path]:
    """A copy of every input kind in ``tmp_path`` and a policy naming the access file and
    the audit log (all on one file system, so hard links work)."""
    d = tmp_path / "inputs"
    d.mkdir()
    files = {"recording": d / "call.mp4", "audio": d / "call-audio.mp4", "sidecar": d / "call.json",
             "roster": d / "roster.csv", "policy": d / "policy.toml", "access": d / "access.toml", "audit": d / "audit.jsonl"}
    shutil.copy(rec.video, files["recording"])
    shutil.copy(rec.video, files["audio"])
    shutil.copy(rec.sidecar, files["sidecar"])
    shutil.copy(rec.roster, files["roster"])
    files["access"].write_text("[users]\n")
    files["audit"].write_text("")
    files["policy"].write_text(f'[policy]\naccess_file = "{files["access"]}"\naudit_log = "{files["audit"]}"\n')
    return files


def _job(files: dict[str, Path], out_dir: Path, **kw: Any) -> pipeline.Job:
    base: dict[str, Any] = dict(input=files["recording"], output=out_dir / "call.anon.mp4", config=load_config(files["policy"]),
                                roster=files["roster"], sidecar=files["sidecar"], audio=files["audio"])
    base.update(kw)
    return pipeline.Job(**base)


@pytest.mark.parametrize("link", [False, True], ids=["path", "hard-link"])
@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_report_never_overwrites_an_input(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models,
                                          kind: str, link: bool) -> None:
    """Issue 15: ``--report`` pointed at the roster overwrote it with JSON, exit 0. Every
    input is refused as an output, by path and by hard link (another path, one inode)."""
    files = _inputs(small, tmp_path)
    target = files[kind]
    if link:
        target = tmp_path / f"link-{files[kind].name}"
        os.link(files[kind], target)
    before = {k: p.read_bytes() for k, p in files.items()}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ConfigError, match="originals are never overwritten") as info:
        pipeline.run(_job(files, out_dir, report=target), no_decoding)
    assert info.value.exit_code == 2 and str(target) in str(info.value)
    for k, p in files.items():
        assert p.read_bytes().startswith(before[k]), k  # the audit log only grows: it records the refusal
    assert list(out_dir.iterdir()) == []


def test_output_and_plan_never_overwrite_an_input(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models) -> None:
    files = _inputs(small, tmp_path)
    roster_link = tmp_path / "roster-link.mp4"
    os.link(files["roster"], roster_link)
    cfg = load_config(None)  # no audit log: the files must stay byte for byte
    for kw in ({"output": roster_link}, {"plan": files["sidecar"]}, {"plan": files["audio"]}):
        with pytest.raises(ConfigError, match="originals are never overwritten"):
            pipeline.run(_job(files, tmp_path, config=cfg, **kw), no_decoding)
    with pytest.raises(ConfigError, match="the plan and the report are the same file"):
        pipeline.run(_job(files, tmp_path, config=cfg, plan=tmp_path / "x.json", report=tmp_path / "x.json"), no_decoding)
    assert files["roster"].read_bytes() == small.roster.read_bytes()
    assert files["sidecar"].read_bytes() == small.sidecar.read_bytes()


def test_unwritable_output_folder_found_before_decoding(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models) -> None:
    folder = unwritable_dir(tmp_path)
    job = pipeline.Job(input=small.video, output=folder / "call.anon.mp4", config=load_config(None), roster=small.roster)
    with pytest.raises(ConfigError, match="output folder is not writable") as info:
        pipeline.run(job, no_decoding)
    assert info.value.path == str(folder)
    job = pipeline.Job(input=small.video, output=tmp_path / "call.anon.mp4", config=load_config(None), report=tmp_path / "nope" / "r.json")
    with pytest.raises(ConfigError, match="output folder does not exist") as info:
        pipeline.run(job, no_decoding)
    assert info.value.path == str(tmp_path / "nope")


def _policy(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "policy.toml"
    p.write_text("[policy]\n" + body)
    return p


def test_unusable_quarantine_found_before_decoding(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    bad = unwritable_dir(tmp_path) / "quarantine"
    job = pipeline.Job(input=small.video, output=out_dir / "c.mp4", config=load_config(_policy(tmp_path, f'quarantine_dir = "{bad}"\n')))
    with pytest.raises(ConfigError, match="quarantine folder") as info:
        pipeline.run(job, no_decoding)
    assert info.value.path == str(bad) and info.value.exit_code == 2
    # inside the output folder, where it would be published with the rest: refused
    inside = out_dir / "team" / "quarantine"
    job = pipeline.Job(input=small.video, output=out_dir / "c.mp4", config=load_config(_policy(tmp_path, f'quarantine_dir = "{inside}"\n')))
    with pytest.raises(ConfigError, match="must not be inside the output folder"):
        pipeline.run(job, no_decoding)
    assert list(out_dir.iterdir()) == []


def test_unusable_audit_log_found_before_decoding(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models) -> None:
    for log, needle in ((tmp_path, "audit log is a folder"), (unwritable_dir(tmp_path) / "audit.jsonl", "audit log folder is not writable"),
                        (tmp_path / "nope" / "audit.jsonl", "audit log folder does not exist")):
        # built in code: a policy file naming a folder that does not exist is refused as it is read (below)
        job = pipeline.Job(input=small.video, output=tmp_path / "c.mp4", config=Config(policy=PolicyConfig(audit_log=str(log))))
        with pytest.raises(ConfigError, match=needle) as info:
            pipeline.run(job, no_decoding)
        assert info.value.exit_code == 2
    with pytest.raises(ConfigError, match=r"policy\.audit_log: the folder .* does not exist"):
        load_config(_policy(tmp_path, f'audit_log = "{tmp_path / "nope" / "audit.jsonl"}"\n'))


def test_default_quarantine_is_private_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    job = pipeline.Job(input=tmp_path / "in.mp4", output=tmp_path / "out" / "c.mp4", config=load_config(None))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert job_files.quarantine_dir(job) == tmp_path / "state" / "anonymizer" / "quarantine"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value in ("", "relative/state"):  # unset or relative: the XDG default
        monkeypatch.setenv("XDG_STATE_HOME", value)
        assert job_files.quarantine_dir(job) == tmp_path / "home" / ".local" / "state" / "anonymizer" / "quarantine"
    job_files.check_quarantine(job_files.quarantine_dir(job), [tmp_path / "out"])
    assert stat.S_IMODE(job_files.quarantine_dir(job).stat().st_mode) == 0o700
    # `anonymizer run call.mp4` from the home folder: the default quarantine lies below the
    # output folder, but under a hidden one, which is not published
    job_files.check_quarantine(job_files.quarantine_dir(job), [tmp_path / "home"])
    with pytest.raises(ConfigError, match="must not be inside the output folder"):
        job_files.check_quarantine(tmp_path / "home" / "shared" / "quarantine", [tmp_path / "home"])


def test_bad_report_key_found_before_decoding(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models) -> None:
    """A report key that cannot sign (too short, readable by others) is exit 2 before the
    run, not after a whole analysis whose report could then not be signed."""
    key = tmp_path / "report.key"
    for content, mode, needle in ((b"short", 0o600, "at least"), (os.urandom(32), 0o644, "")):
        key.write_bytes(content)
        key.chmod(mode)
        job = pipeline.Job(input=small.video, output=tmp_path / "c.mp4", config=load_config(_policy(tmp_path, f'report_key_file = "{key}"\n')))
        with pytest.raises(ConfigError, match=needle) as info:
            pipeline.run(job, no_decoding)
        assert info.value.exit_code == 2 and info.value.path == str(key)
    assert not (tmp_path / "c.mp4").exists()


def test_missing_or_short_hash_key_found_before_decoding(small: RecordingPaths, tmp_path: Path, no_decoding: pipeline.Models) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"0123456789")
    for key, needle in ((tmp_path / "missing.key", "cannot read hash key"), (short, "holds 10 bytes; it needs at least 32")):
        # built in code: a policy file naming a missing key is refused as it is read (below)
        job = pipeline.Job(input=small.video, output=tmp_path / "c.mp4", config=Config(output=OutputConfig(hash_key_file=str(key))))
        with pytest.raises(ConfigError, match=needle) as info:
            pipeline.run(job, no_decoding)
        assert info.value.exit_code == 2 and str(key) in str(info.value)
        assert not (tmp_path / "c.mp4").exists()
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[output]\nhash_key_file = "{tmp_path / "missing.key"}"\n')
    with pytest.raises(ConfigError, match=r"output\.hash_key_file: .* does not exist") as info:
        load_config(policy)
    assert info.value.exit_code == 2 and info.value.path == str(policy)
