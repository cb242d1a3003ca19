from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymizer.config import Config, load_config
from anonymizer.errors import ConfigError


def test_defaults_are_valid_and_hash_is_stable() -> None:
    a, b = load_config(None), Config().validate()
    assert a == b and a.digest() == b.digest() and len(a.digest()) == 64
    assert a.video.style == "fill" and a.audio.mode == "tone"


def test_policy_file_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "policy.toml"
    p.write_text('[video]\nstyle = "blur"\npad_px = 5\n[audio]\nmode = "silence"\n[detect]\nlanguages = ["fr"]\n')
    cfg = load_config(p, {"video": {"style": "pixelate"}, "audio": {"mode": None}})
    assert cfg.video.style == "pixelate" and cfg.video.pad_px == 5
    assert cfg.audio.mode == "silence" and cfg.detect.languages == ("fr",)
    assert cfg.digest() != load_config(None).digest()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[video]\nblurr = 1\n", "unknown key [video].blurr"),
        ("[videos]\nstyle = 'fill'\n", "unknown section [videos]"),
        ("[video]\nstyle = 'smudge'\n", "video.style must be one of"),
        ("[video]\npad_px = 'big'\n", "[video].pad_px must be an integer"),
        ("[video]\npad_px = 1000\n", "video.pad_px must be in"),
        ("[audio]\nrequired = 1\n", "[audio].required must be true or false"),
        ("[detect]\nentities = ['PERSON', 'SHOE_SIZE']\n", "unknown entity type 'SHOE_SIZE'"),
        ("[detect]\nlanguages = ['de']\n", "unknown language 'de'"),
        ("[audio]\nvoice = 'robot'\n", "audio.voice must be one of"),
        ("[audio]\ncustomer_voice = 'yes'\n", "audio.customer_voice must be one of"),
        ("[audio]\nagent_channel = 'centre'\n", "audio.agent_channel must be one of"),
        ("video = 3\n", "[video] must be a table"),
        ("[video\n", "not valid TOML"),
        # issue 15: TOML has nan and inf; every float is checked finite, named by its key
        ("[video]\npad_s = nan\n", "[video].pad_s must be a finite number"),
        ("[video]\nunsure_conf = nan\n", "[video].unsure_conf must be a finite number"),
        ("[video]\nunsure_conf = 7.0\n", "video.unsure_conf must be in 0..1"),
        ("[video]\nunsure_min_digits = -5\n", "video.unsure_min_digits must be in 1..32"),
        ('[video]\npreset = "bogus"\n', "video.preset must be one of"),
        ("[audio]\ntone_hz = inf\n", "[audio].tone_hz must be a finite number"),
        ("[policy]\nverify_min_interval_s = -inf\n", "[policy].verify_min_interval_s must be a finite number"),
        ("[batch]\nsettle_s = nan\n", "[batch].settle_s must be a finite number"),
        ("[detect]\nid_patterns = [{name = 'CONTRACT_ID', regex = 'CT-[0-9]{8}', score = nan}]\n", ".score must be a finite number"),
        ("source = 'x'\n", "unknown section [source]"),
    ],
)
def test_bad_policy(tmp_path: Path, toml: str, message: str) -> None:
    p = tmp_path / "policy.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert message in str(info.value) and str(p) in str(info.value)


def test_missing_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy file not found"):
        load_config(tmp_path / "nope.toml")


def test_cpu_threads_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Models use every core this process may run on, unless a batch divided them."""
    import os

    from anonymizer.ocr import cpu_threads

    monkeypatch.delenv("ANONYMIZER_THREADS", raising=False)
    assert cpu_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("ANONYMIZER_THREADS", "3")
    assert cpu_threads() == 3
    monkeypatch.setenv("ANONYMIZER_THREADS", "zero")
    assert cpu_threads() == len(os.sched_getaffinity(0))


def test_policy_file_path_is_kept_but_not_hashed(tmp_path: Path) -> None:
    """The policy file is an input no output may overwrite, so the config knows its path;
    moving the file changes no digest (the batch would reprocess everything)."""
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("[video]\npad_px = 5\n")
    b.write_text("[video]\npad_px = 5\n")
    ca, cb = load_config(a), load_config(b)
    assert ca.source == str(a) and load_config(None).source == ""
    assert ca.digest() == cb.digest() and ca.processing_digest() == cb.processing_digest() and ca == cb
    assert "source" not in ca.to_dict()


def test_config_show_prints_a_policy_that_loads_back_to_the_same_digest(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from anonymizer._cli import cli

    policy = tmp_path / "p.toml"
    policy.write_text('[video]\nstyle = "blur"\n[detect]\nid_patterns = [{name = "CONTRACT_ID", regex = "CT-\\\\d{8}"}]\n'
                      '[audio]\nvoice = "disguise"\n')
    cfg = load_config(policy)
    result = CliRunner().invoke(cli, ["config", "show", "--policy", str(policy)])
    assert result.exit_code == 0, result.output
    assert f"# config_sha256 = {cfg.digest()}" in result.output
    saved = tmp_path / "shown.toml"
    saved.write_text(result.output)
    assert load_config(saved).digest() == cfg.digest() != load_config(None).digest()
    as_json = CliRunner().invoke(cli, ["config", "show", "--policy", str(policy), "--json"])
    assert json.loads(as_json.output)["settings"]["video"]["style"] == "blur"

    policy.write_text("[video]\nunsure_min_digits = -5\n")
    bad = CliRunner().invoke(cli, ["config", "show", "--policy", str(policy)])
    assert bad.exit_code == 2 and str(policy) in bad.output and "unsure_min_digits" in bad.output


def test_digests_are_pinned() -> None:
    """Plans, reports, audit records and the batch's resume keys carry config_sha256: the
    canonical JSON of the settings must not change when the way they are declared does.
    A new key or default changes these on purpose; update them then, never by accident."""
    cfg = load_config(None)
    assert cfg.digest() == "061fc04c125a6c2cbefa4e52b10f02a75a42fb7c9ea5edfd84f129f39f22bb76"
    assert cfg.processing_digest() == "a70f9d105f12c3d0d518c432e12bfd960b1ec3ea61758d0af7697fe2780ca1fb"
    assert list(cfg.to_dict()) == ["video", "audio", "detect", "policy", "redact", "output", "batch", "runtime"]
    assert all(isinstance(v, (bool, int, float, str, tuple)) for section in cfg.to_dict().values() for v in section.values())


def test_pinned_digest_of_a_non_default_policy(tmp_path: Path) -> None:
    p = tmp_path / "policy.toml"
    p.write_text('[detect]\nid_patterns = [{name = "CONTRACT_ID", regex = "CT-\\\\d{8}", context = ["contrat"]}]\n'
                 'entities = ["PERSON", "IBAN_CODE"]\nscore_threshold = 0.5\n[redact]\nagent = "keep"\n')
    assert load_config(p).digest() == "4bf73e735692e5a3fd1315475766208a9ef5024b2ea8011ce9cc2bb71910b782"


def test_every_key_is_declared_with_its_meaning() -> None:
    """Each key's type, range or choices and help sit beside it (config.setting); the
    reference and the schema are printed from them."""
    from dataclasses import fields

    from anonymizer.config import SECTIONS, IdPattern, kind, settings

    for cls in (*SECTIONS.values(), IdPattern):
        assert settings(cls) == list(fields(cls)), cls
        for f in settings(cls):
            assert f.metadata["help"] and kind(f), (cls, f.name)


def _bad_values() -> list[tuple[str, str, object, str]]:
    from anonymizer.config import SECTIONS, settings

    cases = []
    for section, cls in SECTIONS.items():
        for f in settings(cls):
            m = f.metadata
            if m["lo"] is not None:
                too_big = m["hi"] + 1 if isinstance(f.default, int) else m["hi"] + 0.5
                cases.append((section, f.name, too_big, f"{section}.{f.name} must be in "))
                cases.append((section, f.name, type(f.default)(m["lo"] - 1), f"{section}.{f.name} must be in "))
            if m["choices"]:
                cases.append((section, f.name, "bogus", f"{section}.{f.name} must be one of {m['choices']}, not 'bogus'"))
            if m["items"]:
                cases.append((section, f.name, ["bogus"], f"{section}.{f.name}: unknown {m['noun']} 'bogus'"))
    return cases


@pytest.mark.parametrize(("section", "key", "value", "message"), _bad_values())
def test_every_range_and_choice_is_enforced(section: str, key: str, value: object, message: str) -> None:
    """Config.validate is one loop over the declarations: every range and every list of
    choices refuses a value outside it, naming the key."""
    with pytest.raises(ConfigError) as info:
        load_config(None, {section: {key: value}})
    assert message in str(info.value)


def test_named_files_are_checked_as_the_policy_is_read(tmp_path: Path) -> None:
    """A hash key that cannot be read and an audit log whose folder does not exist are
    refused when the policy is read (exit 2, naming the key), not after a whole analysis."""
    import os

    key, log = tmp_path / "hash.key", tmp_path / "var" / "audit.jsonl"
    key.write_bytes(b"k" * 32)
    policy = tmp_path / "policy.toml"

    def refused(toml: str, message: str) -> None:
        policy.write_text(toml)
        with pytest.raises(ConfigError) as info:
            load_config(policy)
        assert message in str(info.value) and str(policy) in str(info.value) and info.value.exit_code == 2

    refused(f'[output]\nhash_key_file = "{tmp_path / "missing.key"}"\n', f"output.hash_key_file: {tmp_path / 'missing.key'} does not exist")
    refused(f'[output]\nhash_key_file = "{tmp_path}"\n', f"output.hash_key_file: {tmp_path} is not a regular file")
    if os.geteuid() != 0:  # root reads a mode-000 file
        key.chmod(0)
        refused(f'[output]\nhash_key_file = "{key}"\n', f"output.hash_key_file: {key} is not readable")
        key.chmod(0o600)
    refused(f'[policy]\naudit_log = "{log}"\n', f"policy.audit_log: the folder {log.parent} does not exist")
    refused('[policy]\nreport_key_file = "report.key"\n', "policy.report_key_file must be an absolute path, not 'report.key'")
    refused('[batch]\nquota_period = "soon"\n', "batch.quota_period must look like 24h, 7d or 4w")
    refused("[policy]\npurposes = []\n", "policy.purposes must name at least one purpose")

    log.parent.mkdir()  # the log itself is created by the first record
    policy.write_text(f'[output]\nhash_key_file = "{key}"\n[policy]\naudit_log = "{log}"\n')
    cfg = load_config(policy)
    assert cfg.output.hash_key_file == str(key) and cfg.policy.audit_log == str(log) and not log.exists()


def test_policy_docstring_cites_no_private_file() -> None:
    from anonymizer.config import PolicyConfig

    assert "DESIGN" not in (PolicyConfig.__doc__ or "") and "CNIL" in (PolicyConfig.__doc__ or "")
