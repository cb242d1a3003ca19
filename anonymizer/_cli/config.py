"""``anonymizer config show``: the settings a run would use, and their digests; ``config schema``
and ``config reference``: the policy file's JSON Schema and its Markdown reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from anonymizer.config import load_config
from anonymizer.config_doc import reference, schema_text, toml_value


def show_text(settings: dict[str, Any]) -> str:
    """The settings as the TOML a policy file would hold, so the text can be saved as one.
    ``[runtime]`` is chosen by ``--device`` and the probes, never by a policy: it is
    printed as comments."""
    lines: list[str] = []
    for section, values in settings.items():
        mark = "# " if section == "runtime" else ""
        lines.append(f"{mark}[{section}]")
        lines += [f"{mark}{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    @cli.group("config")
    def config_group() -> None:
        """Inspect the configuration."""

    @config_group.command("show")
    @click.option("--policy", type=click.Path(path_type=Path), help="TOML policy file (default: none, the built-in defaults).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
    @click.pass_context
    def show(ctx: click.Context, policy: Path | None, as_json: bool) -> None:
        """Print the effective settings (defaults + POLICY, validated) and their digest: the
        ``config_sha256`` that plans, reports and audit records carry."""
        from anonymizer._cli import fail

        try:
            cfg = load_config(policy)
        except Exception as exc:  # noqa: BLE001 - mapped to exit codes
            fail(exc, ctx.obj["debug"])
        settings = cfg.to_dict()
        if as_json:
            click.echo(json.dumps({"settings": settings, "config_sha256": cfg.digest(),
                                   "processing_sha256": cfg.processing_digest()}, indent=1, sort_keys=True))
            return
        click.echo(show_text(settings), nl=False)
        click.echo(f"# config_sha256 = {cfg.digest()}")
        click.echo(f"# processing_sha256 = {cfg.processing_digest()}  (all but [batch])")

    @config_group.command("schema")
    def schema() -> None:
        """Print the JSON Schema of the policy file (docs/policy.schema.json)."""
        click.echo(schema_text(), nl=False)

    @config_group.command("reference")
    def reference_cmd() -> None:
        """Print the configuration reference in Markdown (docs/configuration.md): every key
        with its type, default, range or choices and meaning."""
        click.echo(reference(), nl=False)
