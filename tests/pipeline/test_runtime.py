"""Device and encoder choice (issue 19): the probes, their fallbacks, the refusal at start,
and the digest and report that name them. Runs on a CPU host: the probes are replaced to
simulate each outcome, and the real ones are checked to fail cleanly where there is no GPU."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from anonymizer import runtime
from anonymizer._cli import cli
from anonymizer.batch.runner import config_hash
from anonymizer.config import Config, RuntimeConfig, load_config
from anonymizer.errors import ConfigError
from anonymizer.media import writer
from anonymizer.plan import Plan
from anonymizer.report import ScreenSection, Verification, build_report


def _probes(monkeypatch: pytest.MonkeyPatch, *, torch: str | None, ct2: str | None) -> list[tuple[str, int]]:
    """Replace both probes: None means "runs", a string is why not. Returns the calls."""
    calls: list[tuple[str, int]] = []

    def fake(name: str, why: str | None) -> Any:
        def probe(index: int) -> str | None:
            calls.append((name, index))
            return why
        return probe

    monkeypatch.setattr(runtime, "probe_torch", fake("torch", torch))
    monkeypatch.setattr(runtime, "probe_ctranslate2", fake("ct2", ct2))
    return calls


def _nvenc(monkeypatch: pytest.MonkeyPatch, opens: bool) -> None:
    def probe(name: str, device: str = "cpu") -> None:
        if not opens:
            raise writer.av.error.PermissionError(1, "Operation not permitted")  # what PyAV raises without NVENC

    monkeypatch.setattr(writer, "probe_encoder", probe)


# -- device ------------------------------------------------------------------------------

def test_cpu_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _probes(monkeypatch, torch=None, ct2=None)
    assert runtime.resolve_device("cpu") == runtime.DeviceChoice("cpu", "asked for (--device cpu)")
    assert calls == []


def test_auto_takes_cuda_only_when_both_run(monkeypatch: pytest.MonkeyPatch) -> None:
    _probes(monkeypatch, torch=None, ct2=None)
    choice = runtime.resolve_device("auto")
    assert choice.device == "cuda:0" and choice.is_cuda and choice.index == 0


@pytest.mark.parametrize(("torch", "ct2", "named"), [
    (None, "CTranslate2 cannot load libcublas.so.12", "libcublas.so.12"),  # faster-whisper issue 1431
    ("torch sees no CUDA device", None, "torch sees no CUDA device"),
])
def test_auto_falls_back_to_cpu_with_one_line(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                              torch: str | None, ct2: str | None, named: str) -> None:
    _probes(monkeypatch, torch=torch, ct2=ct2)
    with caplog.at_level(logging.INFO, logger="anonymizer.runtime"):
        choice = runtime.resolve_device("auto")
    assert choice.device == "cpu" and named in choice.reason
    lines = [r for r in caplog.records if r.name == "anonymizer.runtime"]
    assert len(lines) == 1 and named in lines[0].getMessage() and "CPU" in lines[0].getMessage()
    # no GPU at all is the normal CPU host (INFO); a GPU the stack cannot use is a WARNING
    assert lines[0].levelno == (logging.INFO if runtime.NO_DEVICE in named else logging.WARNING)


@pytest.mark.parametrize(("torch", "ct2"), [(None, "no CUDA for CTranslate2"), ("no CUDA for torch", None)])
def test_explicit_cuda_that_cannot_run_is_refused(monkeypatch: pytest.MonkeyPatch, torch: str | None, ct2: str | None) -> None:
    _probes(monkeypatch, torch=torch, ct2=ct2)
    with pytest.raises(ConfigError, match="--device cuda: no CUDA for") as err:
        runtime.resolve_device("cuda")
    assert err.value.exit_code == 2


def test_device_index_reaches_the_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _probes(monkeypatch, torch=None, ct2=None)
    choice = runtime.resolve_device("cuda:1")
    assert choice.device == "cuda:1" and choice.index == 1
    assert calls == [("ct2", 1), ("torch", 1)]  # CTranslate2 first (its own OpenMP runtime)


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "cuda1", "tpu:0", ""])
def test_bad_device_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="expected auto, cpu, cuda or cuda:N"):
        runtime.resolve_device(bad)


def test_real_probes_fail_cleanly_without_a_gpu() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this host has CUDA")
    assert isinstance(runtime.probe_torch(0), str)
    assert isinstance(runtime.probe_ctranslate2(0), str)
    assert runtime.resolve_device("auto").device == "cpu"
    with pytest.raises(ConfigError):
        runtime.resolve_device("cuda")


# -- encoder -----------------------------------------------------------------------------

def test_cpu_encodes_with_libx264() -> None:
    assert writer.choose_encoder("cpu")[0] == "libx264"
    writer.probe_encoder("libx264")  # the probe itself works where the encoder exists


def test_nvenc_falls_back_to_libx264_on_this_host(caplog: pytest.LogCaptureFixture) -> None:
    """The real probe: NVENC cannot open without an NVIDIA encoder, so libx264, said once."""
    with caplog.at_level(logging.WARNING, logger="anonymizer.media.writer"):
        name, reason = writer.choose_encoder("cuda:0")
    if name == "h264_nvenc":
        pytest.skip("this host has a working NVENC")
    assert name == "libx264" and "h264_nvenc cannot open" in reason and "fell back to libx264" in reason
    assert [r.getMessage() for r in caplog.records if r.name == "anonymizer.media.writer"] == [reason]


@pytest.mark.parametrize(("opens", "expected"), [(True, "h264_nvenc"), (False, "libx264")])
def test_encoder_follows_the_probe(monkeypatch: pytest.MonkeyPatch, opens: bool, expected: str) -> None:
    _nvenc(monkeypatch, opens)
    name, reason = writer.choose_encoder("cuda:1")
    assert name == expected and "cuda:1" in reason
    assert ("fell back" in reason) == (not opens)


# -- digest, report, workers -------------------------------------------------------------

def _on_cuda(monkeypatch: pytest.MonkeyPatch, *, nvenc: bool) -> Config:
    _probes(monkeypatch, torch=None, ct2=None)
    _nvenc(monkeypatch, nvenc)
    return runtime.with_runtime(load_config(None), "auto")


def test_device_and_encoder_are_in_every_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = runtime.with_runtime(load_config(None), "cpu")
    assert cpu.runtime == RuntimeConfig("cpu", "libx264") and cpu.digest() == Config().validate().digest()
    gpu_x264 = _on_cuda(monkeypatch, nvenc=False)
    gpu_nvenc = _on_cuda(monkeypatch, nvenc=True)
    assert (gpu_x264.runtime.device, gpu_x264.runtime.encoder) == ("cuda:0", "libx264")
    assert gpu_nvenc.runtime.encoder == "h264_nvenc"
    for a, b in [(cpu, gpu_x264), (gpu_x264, gpu_nvenc), (cpu, gpu_nvenc)]:
        assert a.digest() != b.digest()
        assert a.processing_digest() != b.processing_digest()
        assert config_hash(a, None, None) != config_hash(b, None, None)  # the batch's resume key
    # the reasons are prose, not settings: they change no digest
    reworded = dataclasses.replace(cpu, runtime=dataclasses.replace(cpu.runtime, device_reason="other words"))
    assert reworded.digest() == cpu.digest() and reworded == cpu


def test_policy_file_cannot_set_the_runtime(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[runtime]\ndevice = "cuda"\n')
    with pytest.raises(ConfigError, match="unknown section"):
        load_config(policy)


def test_report_names_device_and_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _on_cuda(monkeypatch, nvenc=False)
    plan = Plan(input_sha256="0" * 64, width=8, height=8, duration_s=1.0, config_sha256=cfg.digest(), style="fill",
                boxes=[], audio_spans=[])
    job = SimpleNamespace(input=Path("in.mp4"), output=Path("out.mp4"), config=cfg, roster=None, sidecar=None, audio=None, plan_path=lambda: Path("out.plan.json"))
    stats = SimpleNamespace(frames_changed=0, ocr_calls=0, ocr_pixels=0, frame_pixels=1, ink_reads=0, boxes_read=0, ink_pixels=0)
    report = build_report(job=job, info=SimpleNamespace(width=8, height=8, duration_s=1.0, video_codec="h264"), plan=plan,
                          sidecar=SimpleNamespace(call_id=None, agent_employee_id=None), output_sha256="1" * 64,
                          screen=ScreenSection.of(stats), timings={}, wall_s=1.0, n_frames=1, audio=None, n_words=0, user="u",
                          version="0", verification=Verification(enabled=False))
    rt = report.to_dict()["runtime"]
    assert (rt["device"], rt["encoder"]) == ("cuda:0", "libx264")
    assert "fell back to libx264" in rt["encoder_reason"] and "torch and CTranslate2" in rt["device_reason"]
    assert report.config_sha256 == cfg.digest()


def test_worker_refuses_a_runtime_its_host_cannot_match(monkeypatch: pytest.MonkeyPatch) -> None:
    from anonymizer.batch.worker import Loaded, WorkerSpec

    on_gpu = _on_cuda(monkeypatch, nvenc=True)
    assert runtime.check_runtime(on_gpu, "cuda:0").device == "cuda:0"
    assert runtime.check_runtime(on_gpu, "auto").device == "cuda:0"  # "auto" in a spec: the config's device
    _nvenc(monkeypatch, False)  # this worker's GPU has no NVENC
    with pytest.raises(ConfigError, match="cannot use the batch's encoder h264_nvenc"):
        runtime.check_runtime(on_gpu, "cuda:0")
    _probes(monkeypatch, torch=None, ct2="CTranslate2 sees no CUDA device")  # a CPU-only Dask worker
    with pytest.raises(ConfigError, match="CTranslate2 sees no CUDA device"):
        Loaded(WorkerSpec(config=on_gpu, device="cuda:0"))
    with pytest.raises(ConfigError, match="would run on cpu but the batch's config names cuda:0"):
        Loaded(WorkerSpec(config=dataclasses.replace(on_gpu, runtime=RuntimeConfig("cuda:0", "libx264")), device="cpu"))


def test_worker_passes_its_device_to_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    from anonymizer.batch.worker import Loaded, WorkerSpec

    seen: dict[str, Any] = {}

    def factory(config: Config, **kw: Any) -> Any:
        seen.update(kw)
        return None

    cfg = _on_cuda(monkeypatch, nvenc=False)
    monkeypatch.setattr("anonymizer.detect.Detector", lambda *a, **k: None)
    loaded = Loaded(WorkerSpec(config=cfg, device="cuda:0", models_factory=factory))
    assert seen["device"] == "cuda:0" and loaded.gpu


def test_models_get_the_device_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whisper gets device="cuda", device_index=N; EasyOCR the torch device "cuda:N"."""
    import faster_whisper

    import anonymizer.speech as speech

    got: dict[str, Any] = {}

    class FakeWhisper:
        def __init__(self, path: str, **kw: Any) -> None:
            got.update(kw)

    monkeypatch.setattr(faster_whisper, "WhisperModel", FakeWhisper)
    speech.WhisperTranscriber(device="cuda:1")
    assert (got["device"], got["device_index"], got["compute_type"]) == ("cuda", 1, "float16")
    speech.WhisperTranscriber(device="cpu")
    assert (got["device"], got["device_index"], got["compute_type"]) == ("cpu", 0, "int8")


# -- command line: refused at start, before any decoding ---------------------------------

def test_run_refuses_cuda_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _probes(monkeypatch, torch=None, ct2="CTranslate2 cannot load libcublas.so.12")
    import anonymizer.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pytest.fail("the run started"))
    rec = tmp_path / "call.mp4"
    rec.write_bytes(b"not a video: never read")
    result = CliRunner().invoke(cli, ["run", str(rec), "--device", "cuda"])
    assert result.exit_code == 2, result.output
    assert "--device cuda: CTranslate2 cannot load libcublas.so.12" in result.output
    assert not list(tmp_path.glob("call.anon*"))


def test_run_rejects_a_malformed_device(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "x.mp4"), "--device", "gpu"])
    assert result.exit_code == 2 and "expected auto, cpu, cuda or cuda:N" in result.output
    assert "--gpu" not in CliRunner().invoke(cli, ["run", "--help"]).output


@pytest.mark.parametrize("device", ["cuda", "cuda:3"])
def test_batch_refuses_cuda_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, device: str) -> None:
    _probes(monkeypatch, torch="torch sees no CUDA device", ct2=None)
    import anonymizer.batch as batch

    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: pytest.fail("the batch started"))
    inbox = tmp_path / "in"
    inbox.mkdir()
    result = CliRunner().invoke(cli, ["batch", str(inbox), "--out", str(tmp_path / "out"), "--device", device])
    assert result.exit_code == 2, result.output
    assert f"--device {device}: torch sees no CUDA device" in result.output
    assert not (tmp_path / "out").exists()
