"""``anonymizer check``: one line per item, exit 0 or 2 (issue 19, item 4; issue 15, finding 9)."""

from __future__ import annotations

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
    cuda = _lines(proc.stdout, "ok   cuda: ")
    assert len(cuda) == 2 and {"torch", "CTranslate2"} == {line.split()[2] for line in cuda}
    if _gpus() == 0:
        assert all(line.endswith("cpu only") for line in cuda), cuda
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
