"""The README is a contract (schedulers script against it): its CLI, exit codes, policy
example and Makefile commands must match the code."""

from __future__ import annotations

import re
from pathlib import Path

from anonymizer.config import Config, load_config
from anonymizer.errors import EXIT_CODES
from tests.conftest import ROOT, anonymizer_cmd

README = (ROOT / "README.md").read_text()


def _block(after: str, lang: str = "") -> str:
    start = README.index(after)
    m = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    assert m is not None
    return m.group(1)


def test_two_commands_exist_in_makefile_and_ci() -> None:
    setup = _block("## Two commands")
    assert "make demo" in setup and "make test" in setup
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_documented_options_exist() -> None:
    usage = _block("## Command line")
    checked = 0
    for line in usage.splitlines():
        m = re.match(r"anonymizer ((?:audit |config )?[a-z-]+)", line.strip())
        if m:
            command = m.group(1).split()
            helptext = anonymizer_cmd(*command, "--help")
            assert helptext.returncode == 0, line
        for option in re.findall(r"(--[a-z][a-z-]+)", line):
            assert option in helptext.stdout, (command, option)
            checked += 1
    assert checked > 20


def test_exit_code_table_matches_code() -> None:
    rows = dict(re.findall(r"^\| (\d) \| (.+?) \|$", README, re.M))
    assert sorted(int(c) for c in rows) == sorted(EXIT_CODES)


def test_policy_example_is_the_defaults(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(_block("## Policy file", "toml"))
    assert load_config(policy) == Config().validate()
