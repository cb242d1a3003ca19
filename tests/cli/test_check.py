"""``anonymizer check``: one line per item, exit 0 or 2 (issue 19, item 4; issue 15, finding 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anonymizer._cli import check as check_mod
from anonymizer._cli import cli
from tests.conftest import anonymizer_cmd

MODELS = ("easyocr-en", "whisper-tiny.en", "whisper-base", "spacy-en", "spacy-fr")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


def _check(*args: str, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("ANONYMIZER_CACHE", str(cache))
    return CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def _gpus() -> int:
    return min(int(n) for _, n in check_mod.cuda_counts())


def test_check_passes_on_this_install(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_CACHE", str(cache))
    proc = anonymizer_cmd("check", "--out", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert all(line[:5] in ("ok   ", "note ") for line in lines), lines
    for name in MODELS:
        assert any(line.startswith(f"ok   models: {name} ") and " files sha256 " in line for line in lines), name
    assert any("--asr-model DIR" in line and "not in the manifest" in line for line in _lines(proc.stdout, "note ")), lines
    assert any(line.startswith("ok   output: ") for line in lines) and any(line.startswith("ok   disk: ") for line in lines)
    cuda = [line for line in _lines(proc.stdout, "ok   cuda: ") if " sees " in line]
    assert len(cuda) == 2 and {"torch", "CTranslate2"} == {line.split()[2] for line in cuda}
    if _gpus() == 0:
        assert all(line.endswith("cpu only") for line in cuda), cuda
        assert any(line.startswith("note cuda: CUDA 12 cuBLAS for CTranslate2") for line in lines), lines
    assert "ok   encoder: libx264 opens" in lines
    (nvenc,) = [line for line in lines if line[5:].startswith("encoder: h264_nvenc ")]
    assert nvenc == "ok   encoder: h264_nvenc opens" or (nvenc.startswith("note ") and nvenc.endswith("runs encode with libx264"))
    assert not _lines(proc.stdout, "ok   time: ")  # only with --time-clip
    assert not list(tmp_path.glob("out/.anonymizer-check-*"))  # its probe files are gone


def test_check_names_a_changed_model_file(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _check(cache=cache, monkeypatch=monkeypatch).exit_code == 0  # joins whisper-base into the cache
    (joined,) = cache.glob("whisper-base-*")
    cfg = joined / "config.json"
    original = cfg.read_bytes()
    cfg.write_bytes(original.replace(b"alignment_heads", b"alignment_headz"))
    try:
        result = _check(cache=cache, monkeypatch=monkeypatch)
    finally:
        cfg.write_bytes(original)
    assert result.exit_code == 2, result.output
    (fail,) = _lines(result.output, "FAIL ")
    assert fail.startswith("FAIL models: whisper-base: ") and str(cfg) in fail and "sha256" in fail
    assert _check(cache=cache, monkeypatch=monkeypatch).exit_code == 0


def test_check_fails_cuda_on_a_host_without_it(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _gpus() > 0:
        pytest.skip("this host has a GPU")
    result = _check("--device", "cuda", cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert len([line for line in _lines(result.output, "FAIL cuda: ") if "--device cuda" in line]) == 2, result.output
    assert _check("--device", "cpu", cache=cache, monkeypatch=monkeypatch).exit_code == 0
    bad = _check("--device", "gpu", cache=cache, monkeypatch=monkeypatch)
    assert bad.exit_code == 2 and _lines(bad.output, "FAIL device: ")


def test_check_fails_a_bad_policy_roster_and_paths(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\naudit_log = "{not_a_folder}/audit.jsonl"\n', encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("employee_id,first_name\n1,Ann\n", encoding="utf-8")
    result = _check("--policy", str(policy), "--roster", str(roster), "--out", str(not_a_folder / "out"),
                    cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    failed = {line.split(":")[0] for line in _lines(result.output, "FAIL ")}
    assert {"FAIL roster", "FAIL audit log", "FAIL output"} <= failed, result.output
    assert any(str(not_a_folder) in line for line in _lines(result.output, "FAIL audit log"))

    policy.write_text("[policy]\nno_such_key = 1\n", encoding="utf-8")
    result = _check("--policy", str(policy), "--out", str(tmp_path), cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and [line.split(":")[0] for line in _lines(result.output, "FAIL ")] == ["FAIL policy"]


def test_check_fails_when_disk_space_is_short(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_mod, "MIN_FREE_BYTES", 1 << 62)
    result = _check("--out", str(tmp_path), cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and _lines(result.output, "FAIL disk: "), result.output


def test_check_encoder_lines(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anonymizer import runtime
    from anonymizer.media import writer

    # A CUDA host without NVENC (an H100/H200): the run falls back to libx264, so no FAIL.
    monkeypatch.setattr(check_mod, "check_cuda", lambda r, device: None)
    monkeypatch.setattr(runtime, "resolve_device", lambda requested: runtime.DeviceChoice("cuda:0", "probed"))
    monkeypatch.setattr(check_mod, "encoder_opens", lambda name, device: None if name == "libx264" else f"no NVENC unit on {device}")
    monkeypatch.setattr(writer, "choose_encoder", lambda device: ("libx264", f"h264_nvenc cannot open on {device}; fell back to libx264"))
    result = _check("--device", "cuda", cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "ok   device: --device cuda runs on cuda:0 (probed)" in lines
    assert "ok   encoder: libx264 opens" in lines
    assert "note encoder: h264_nvenc does not open (no NVENC unit on cuda:0); runs encode with libx264" in lines
    assert "ok   encoder: runs on cuda:0 use libx264 (h264_nvenc cannot open on cuda:0; fell back to libx264)" in lines

    monkeypatch.setattr(check_mod, "encoder_opens", lambda name, device: "missing from this FFmpeg")
    result = _check("--device", "cpu", cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert _lines(result.output, "FAIL ") == ["FAIL encoder: libx264 does not open (missing from this FFmpeg)"]


def test_check_names_the_device_and_encoder_a_run_would_use(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _check("--device", "cpu", cache=cache, monkeypatch=monkeypatch).output.splitlines()
    assert "ok   device: --device cpu runs on cpu (asked for (--device cpu))" in lines
    assert "ok   encoder: runs on cpu use libx264 (CPU run: libx264)" in lines
    if _gpus() == 0:
        result = _check("--device", "cuda", cache=cache, monkeypatch=monkeypatch)
        (device,) = _lines(result.output, "FAIL device: ")
        assert device.startswith("FAIL device: --device cuda: "), device
        assert not [line for line in result.output.splitlines() if line.startswith("ok   encoder: runs on")]


def test_encoder_opens_on_this_host() -> None:
    assert check_mod.encoder_opens("libx264") is None
    assert check_mod.encoder_opens("no_such_encoder")  # a reason, not an exception


@pytest.mark.parametrize(("device", "preload", "want"), [
    ("auto", [], "note cuda: no CUDA 12 cuBLAS for CTranslate2 (libcublas.so.12), so speech cannot run on CUDA: make install-gpu"),
    ("cuda", [], "FAIL cuda: no CUDA 12 cuBLAS for CTranslate2 (libcublas.so.12): make install-gpu"),
    ("cuda", ["/v/nvidia/cublas/lib/libcublasLt.so.12", "/v/nvidia/cublas/lib/libcublas.so.12"],
     "ok   cuda: CUDA 12 cuBLAS for CTranslate2 (/v/nvidia/cublas/lib)"),
    ("auto", "/v/libcublas.so.12: invalid ELF header", "FAIL cuda: the CUDA 12 cuBLAS of the gpu extra does not load (/v/libcublas.so.12: invalid ELF header)"),
])
def test_check_cuda12_cublas_for_ctranslate2(device: str, preload: list[str] | str, want: str) -> None:
    lines: list[str] = []
    report = check_mod.Report(lines.append)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(check_mod, "cuda_counts", lambda: iter([("torch", 1), ("CTranslate2", 1)]))
        mp.setattr(check_mod, "preload_cuda12", lambda: preload)
        check_mod.check_cuda(report, device)
    assert lines[-1] == want, lines
    assert report.failed == want.startswith("FAIL")


def test_check_time_clip_gives_wall_per_media(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The smallest call the corpus makes (10 s on 2 idle cores, most of it loading the models).
    monkeypatch.setattr(check_mod, "CLIP_W", 320)
    monkeypatch.setattr(check_mod, "CLIP_H", 180)
    monkeypatch.setattr(check_mod, "CLIP_S", 2.0)
    audit = tmp_path / "audit.jsonl"
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\naudit_log = "{audit}"\n', encoding="utf-8")
    result = _check("--device", "cpu", "--time-clip", "--policy", str(policy), "--out", str(tmp_path),
                    cache=cache, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    (line,) = _lines(result.output, "ok   time: ")
    m = re.fullmatch(r"ok   time: (\d+\.\d) s wall for a (\d+\.\d) s call = (\d+\.\d\d)x real time .*", line)
    assert m is not None, line
    wall_s, media_s, factor = map(float, m.groups())
    assert 1.5 <= media_s <= 2.5 and wall_s > 0 and factor == pytest.approx(wall_s / media_s, abs=0.06)
    assert not audit.exists()  # the clip is not a recording: no audit record
