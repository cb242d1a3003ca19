"""The README and docs/*.md are a contract (schedulers script against them, trainers copy
their commands): every ``anonymizer`` command shown parses with the real CLI, every option
of every command is in the operations guide, ``make`` names real targets, the exit-code
table, the example files and the policy match the code, and every relative link, anchor and
repository path they cite exists."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from anonymizer._cli import cli
from anonymizer.config import load_config
from anonymizer.detect.roster import load_roster
from anonymizer.errors import EXIT_CODES
from anonymizer.policy.access import load_access
from anonymizer.sidecar import load_sidecar
from tests.conftest import ROOT, anonymizer_cmd

README = (ROOT / "README.md").read_text()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GUIDES = ("trainer.md", "operations.md", "compliance.md", "configuration.md", "design.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
SEPARATORS = {"&&", "||", ";", "|", ">", ">>", "2>", "2>&1", "<"}
PYTHONS = {"python", "python3", ".venv/bin/python", "$(BIN)/python"}


def _repository() -> set[str]:
    """Every file git tracks or would (not ignored: no build output), and every folder of
    them, relative to ROOT."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    files = {f for f in listed if f and (ROOT / f).exists()}
    return files | {str(parent) for f in files for parent in Path(f).parents if str(parent) != "."}


REPOSITORY = _repository()


def _in_repository(path: Path) -> bool:
    return path.resolve() == ROOT or str(path.resolve().relative_to(ROOT)).rstrip("/") in REPOSITORY


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _section(text: str, heading: str) -> str:
    """From ``heading`` to the next heading of the same or a higher level."""
    start = text.index(heading + "\n")
    level = len(heading) - len(heading.lstrip("#"))
    fences = [m.span() for m in FENCE.finditer(text)]
    ends = (m.start() for m in re.compile(rf"^#{{1,{level}}} ", re.M).finditer(text, start + len(heading))
            if not any(a <= m.start() < b for a, b in fences))  # a "# comment" in a code block is no heading
    return text[start:next(ends, len(text))]


def _block(text: str, heading: str, lang: str = "") -> str:
    """The first fenced block of ``lang`` in the section ``heading``."""
    m = re.compile(rf"^```{lang}\n(.*?)^```", re.M | re.S).search(_section(text, heading))
    assert m is not None, (heading, lang)
    return m.group(1)


def _prose(text: str) -> str:
    return FENCE.sub("", text)


def _shell_lines(block: str) -> Iterator[str]:
    """Logical lines of a shell block: ``\\`` continuations joined, and so are the indented
    ``[--option ...]`` lines of a synopsis."""
    lines: list[str] = []
    for raw in block.splitlines():
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        elif lines and raw[:1].isspace() and raw.strip()[:1] in "[-" and _invocations(lines[-1], "anonymizer"):
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw)
    yield from lines


def _tokens(line: str) -> list[str]:
    return shlex.split(line, comments=True)


def _invocations(line: str, program: str) -> list[list[str]]:
    """The arguments of each call of ``program`` (``anonymizer``, also as a path ending in
    ``bin/anonymizer`` or as ``python -m anonymizer``; or ``make``) on a shell line, each up
    to the next ``&&``, ``|``, ``;`` or redirection."""
    if not re.search(rf"(^|[\s/]){program}(\s|$)", line):
        return []
    tokens = _tokens(line)
    found = []
    for i, tok in enumerate(tokens):
        at_start = i == 0 or tokens[i - 1] in SEPARATORS or tokens[i - 1] == "sudo"
        if (tok == program and at_start) or (program == "anonymizer" and tok.endswith("bin/anonymizer")):
            args = tokens[i + 1:]
        elif program == "anonymizer" and tok in PYTHONS and tokens[i + 1:i + 3] == ["-m", "anonymizer"]:
            args = tokens[i + 3:]
        else:
            continue
        end = next((j for j, a in enumerate(args) if a in SEPARATORS or a.startswith(">")), len(args))
        found.append(args[:end])
    return found


def _shown(program: str) -> list[tuple[str, bool, list[str]]]:
    """(where, in a code block, arguments) for every call of ``program`` in the docs: shell
    blocks line by line, and inline code."""
    shown = []
    for doc in DOCS:
        text = doc.read_text()
        for lang, body in FENCE.findall(text):
            if lang in ("", "sh", "bash", "console", "shell"):
                for line in _shell_lines(body):
                    shown += [(f"{_name(doc)}: {line.strip()}", True, args) for args in _invocations(line, program)]
        for code in re.findall(r"`([^`]+)`", _prose(text)):
            code = " ".join(code.split())
            shown += [(f"{_name(doc)}: `{code}`", False, args) for args in _invocations(code, program)]
    return shown


def _parse(argv: list[str], *, complete: bool) -> tuple[tuple[str, ...], dict[str, object]]:
    """Parse ``argv`` as the CLI does, command by command (click's own parser, so an unknown
    option or a missing option value fails), without converting values or running anything.
    The synopsis' ``[...]`` are dropped and every ``a|b`` of a choice must be a choice.
    ``complete``: required arguments and options must be given. Returns the command path
    and the options given (by parameter name)."""
    argv = [a for a in (tok.replace("[", "").replace("]", "") for tok in argv) if a]
    cmd: click.Command = cli
    ctx = click.Context(cli, info_name="anonymizer")
    path: list[str] = []
    while True:
        try:
            given, rest, _ = cmd.make_parser(ctx).parse_args(list(argv))
        except click.UsageError as exc:
            raise AssertionError(f"anonymizer {' '.join(path)}: {exc.format_message()}") from None
        for param in cmd.get_params(ctx):
            if isinstance(param.type, click.Choice) and param.name in given:
                for value in str(given[param.name]).split("|"):
                    assert value in param.type.choices, (path, param.name, value, param.type.choices)
        if not isinstance(cmd, click.Group) or not rest:
            break
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"anonymizer {' '.join(path)}: no command {rest[0]!r}"
        path.append(rest[0])
        ctx, cmd, argv = click.Context(sub, info_name=rest[0], parent=ctx), sub, rest[1:]
    assert not rest, f"anonymizer {' '.join(path)}: unexpected arguments {rest}"
    if complete and not {"-h", "--help"} & set(argv):
        assert not isinstance(cmd, click.Group), f"anonymizer {' '.join(path)}: no command given"
        missing = [p.name for p in cmd.get_params(ctx) if p.required and p.name not in given]
        assert not missing, f"anonymizer {' '.join(path)}: missing {missing}"
    return tuple(path), given


def _leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _leaf_commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(doc.read_text()), re.M)}


def test_two_commands_exist_in_makefile_and_ci() -> None:
    setup = _block(README, "## Two commands (fresh Debian/Ubuntu, Python 3.11)")
    assert "make demo" in setup and "make test" in setup
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_is_a_quick_start_linking_the_guides() -> None:
    assert len(README.splitlines()) <= 200
    for guide in GUIDES:
        assert f"](docs/{guide})" in README, guide
    assert len([1 for _, in_block, args in _shown("anonymizer") if in_block and args[:1] == ["run"]]) >= 1
    assert "anonymizer batch " in _block(README, "## A night's recordings")


def test_every_anonymizer_command_shown_parses() -> None:
    shown = _shown("anonymizer")
    commands = set()
    for where, in_block, args in shown:
        try:
            path, _ = _parse(args, complete=in_block)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from None
        commands.add(path)
    assert len(shown) > 40 and len(commands) >= 10, (len(shown), commands)


@pytest.mark.parametrize("argv", [
    ["run", "CALL.mp4", "--no-such-option"],  # an unknown option
    ["run", "CALL.mp4", "--style", "fill|smudge"],  # a choice that is not one
    ["render", "CALL.mp4", "-o", "OUT.mp4"],  # a required option left out
    ["run", "CALL.mp4", "EXTRA.mp4"],  # one argument too many
    ["audit", "check", "LOG"],  # no such subcommand
    ["batch", "INBOX", "--out"],  # an option without its value
])
def test_the_parser_catches_what_a_wrong_command_has(argv: list[str]) -> None:
    with pytest.raises(AssertionError):
        _parse(argv, complete=True)


def test_every_option_of_every_command_is_in_the_operations_guide() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    section = _section(operations, "## Command line")
    synopsis: dict[tuple[str, ...], set[str]] = {}
    for line in _shell_lines(_block(operations, "## Command line")):
        for args in _invocations(line, "anonymizer"):
            path, given = _parse(args, complete=True)
            synopsis.setdefault(path, set()).update(given)
    ctx = click.Context(cli)
    for opt in (p for p in cli.get_params(ctx) if isinstance(p, click.Option)):
        assert any(f"`{name}`" in section for name in opt.opts), opt.opts  # --debug, -v, --version, --help
    leaves = dict(_leaf_commands(cli))
    assert set(synopsis) == set(leaves)
    for path, cmd in leaves.items():
        options = {p.name for p in cmd.get_params(ctx) if isinstance(p, click.Option) and not p.hidden and "--help" not in p.opts}
        assert options <= synopsis[path], (path, options - synopsis[path])


def test_make_lines_name_real_targets() -> None:
    targets = set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M))
    shown = _shown("make")
    for where, _, args in shown:
        for arg in args:
            if "=" not in arg and not arg.startswith("-"):
                assert arg in targets, (where, arg)
    assert len(shown) > 10


def test_python_modules_and_scripts_shown_exist() -> None:
    local = {p.split("/")[0] for p in REPOSITORY if p.count("/") == 1 and p.endswith("/__init__.py")}
    checked = 0
    for doc in DOCS:
        text = doc.read_text()
        for module in re.findall(r"python3? -m ([\w.]+)", text):
            if module.split(".")[0] in local:
                base = ROOT / module.replace(".", "/")
                assert _in_repository(base.with_suffix(".py")) or _in_repository(base / "__main__.py"), (_name(doc), module)
                checked += 1
        for script in re.findall(r"python3? ((?:\w+/)+\w+\.py)", text):
            assert script in REPOSITORY, (_name(doc), script)
            checked += 1
    assert checked > 10


def test_exit_code_table_matches_code() -> None:
    codes = [int(c) for c, _ in re.findall(r"^\| (\d) \| (.+?) \|$", _section(README, "## Exit codes"), re.M)]
    assert sorted(codes) == sorted(EXIT_CODES)
    listed = anonymizer_cmd("exit-codes")
    assert listed.returncode == 0, listed.stderr
    assert sorted(int(line.split()[0]) for line in listed.stdout.splitlines()) == sorted(codes)


def test_policy_example_loads_and_means_what_it_says(tmp_path: Path) -> None:
    """The operations guide's policy, on a host where the files it names exist (each
    absolute path moved under tmp_path): it loads, and every key holds the value written."""
    compliance = (ROOT / "docs" / "compliance.md").read_text()
    example = _block((ROOT / "docs" / "operations.md").read_text(), "## Policy file (TOML)", "toml")

    def deployed(value: str) -> str:
        path = tmp_path / value.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".key":
            path.write_bytes(os.urandom(32))
            path.chmod(0o600)
        elif path.name == "access.toml":
            path.write_text(_block(compliance, "## Access and export", "toml"))
        return str(path)

    text = re.sub(r'"(/[^"]+)"', lambda m: json.dumps(deployed(m.group(1))), example)
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    loaded = load_config(policy).to_dict()
    written = tomllib.loads(text)
    assert len(written) >= 4
    for section, keys in written.items():
        for key, value in keys.items():
            got = loaded[section][key]
            assert (list(got) if isinstance(got, tuple) else got) == value, (section, key)


def test_roster_sidecar_and_access_examples_load(tmp_path: Path) -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    roster = tmp_path / "roster.csv"
    roster.write_text(_block(operations, "## Roster CSV"))
    assert [e.employee_id for e in load_roster(roster)] == ["E10234"]
    sidecar = tmp_path / "call.json"
    sidecar.write_text(_block(operations, "## Sidecar JSON (from the CTI system)", "json"))
    loaded = load_sidecar(sidecar)
    assert loaded.agent_employee_id == "E10234" and loaded.purpose == "training" and len(loaded.windows) == 1
    access = tmp_path / "access.toml"
    access.write_text(_block((ROOT / "docs" / "compliance.md").read_text(), "## Access and export", "toml"))
    assert set(load_access(access).users) == {"alice", "bob"}


def test_relative_links_and_anchors_resolve() -> None:
    checked = 0
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", _prose(doc.read_text())):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            assert ROOT in dest.parents and _in_repository(dest), (_name(doc), target)
            if anchor and dest.suffix == ".md":
                assert anchor in _anchors(dest), (_name(doc), target)
            checked += 1
    assert checked > 30


def test_repository_paths_cited_exist() -> None:
    """A path into the repository's own folders (``kernels/voice.py``, ``tests/detect/``)
    named anywhere in the docs is there."""
    folders = "|".join(re.escape(p) for p in REPOSITORY if "/" not in p and (ROOT / p).is_dir())
    cited = re.compile(rf"(?<![\w./~$<-])((?:{folders})/[\w./-]*[\w/])")
    checked = 0
    for doc in DOCS:
        for path in cited.findall(doc.read_text()):
            assert path.rstrip("/") in REPOSITORY, (_name(doc), path)
            checked += 1
    assert checked > 20


def test_nothing_tracked_cites_a_design_file_users_do_not_have() -> None:
    """An old design document is not in the repository: nothing may send a reader to it."""
    missing = "DESIGN" + ".md"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    citing = [f for f in tracked if f and (ROOT / f).is_file() and missing.encode() in (ROOT / f).read_bytes()]
    assert not (ROOT / missing).exists()
    assert citing == []
