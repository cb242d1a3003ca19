"""Administration commands: ``audit verify``, ``purge`` and ``export``.

Kept apart from ``anonymizer._cli`` (the ``run`` command) and attached with
``register(cli)``, so they load no media or model code. Errors follow the same contract:
one line, ``anonymizer: error: <file>: <reason>``, and the error's documented exit code
(a policy refusal is 6, a broken audit chain 5)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from anonymizer.errors import ConfigError, VerificationError

_PATH = click.Path(path_type=Path)


def _fail(ctx: click.Context, exc: BaseException) -> NoReturn:
    """Same contract as the ``run`` command's error handler (``--debug`` re-raises)."""
    from anonymizer._cli import fail

    fail(exc, bool((ctx.find_root().obj or {}).get("debug")))


def _policy_defaults(policy: Path | None) -> tuple[int, str]:
    """(retention_days, audit_log) from the policy file, or the built-in defaults."""
    from anonymizer.config import load_config

    p = load_config(policy).policy
    return p.retention_days, p.audit_log


@click.group("audit")
def audit_group() -> None:
    """Inspect the hash-chained audit log."""


@audit_group.command("verify")
@click.argument("log", type=_PATH)
@click.option("--expect-head", metavar="HASH", help="Anchor: a head printed earlier must still be in the chain.")
@click.option("--expect-records", metavar="N", type=click.IntRange(min=0), help="Anchor: the log held N records then.")
@click.pass_context
def verify_cmd(ctx: click.Context, log: Path, expect_head: str | None, expect_records: int | None) -> None:
    """Check every record of LOG; print the record count and head hash.

    Truncating whole trailing records leaves a valid shorter chain: keep the printed head
    and count somewhere the log's writers cannot edit (the nightly job's log, a ticket),
    and pass them back as --expect-head/--expect-records."""
    from anonymizer import audit

    try:
        res = audit.verify(log, expect_head=expect_head, expect_records=expect_records)
        if not res.ok:
            where = f"line {res.line}: " if res.line is not None else ""
            raise VerificationError(f"{where}{res.problem} ({res.records} valid records before it)", path=log)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes
        _fail(ctx, exc)
    click.echo(f"ok: {res.records} records, head {res.head}")


@click.command("purge")
@click.argument("root", type=_PATH)
@click.option("--older-than", metavar="AGE", help="Delete originals older than this (30d, 12h; default: policy retention_days).")
@click.option("--include-outputs", is_flag=True, help="Also delete old anonymized outputs (*.anon.mp4 + plan + report).")
@click.option("--audit-log", type=_PATH, help="Log every deletion here (default: policy audit_log).")
@click.option("--policy", type=_PATH, help="TOML policy file (retention_days, audit_log).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete and log nothing.")
@click.pass_context
def purge_cmd(ctx: click.Context, root: Path, older_than: str | None, include_outputs: bool, audit_log: Path | None,
              policy: Path | None, dry_run: bool) -> None:
    """Delete original recordings (and their sidecars) under ROOT past their retention."""
    from anonymizer.policy.retention import parse_duration, purge

    try:
        retention_days, policy_log = _policy_defaults(policy)
        days = parse_duration(older_than) if older_than is not None else float(retention_days)
        log = audit_log or (Path(policy_log) if policy_log else None)
        if log is None and not dry_run:
            click.echo("anonymizer: warning: no audit log (--audit-log or [policy] audit_log): deletions are not logged", err=True)
        paths = purge(root, older_than_days=days, include_outputs=include_outputs, audit_log=log, dry_run=dry_run)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes
        _fail(ctx, exc)
    verb = "would delete" if dry_run else "deleted"
    for p in paths:
        click.echo(f"{verb}: {p}")
    click.echo(f"{len(paths)} file(s) {verb}")


@click.command("export")
@click.argument("recording", type=_PATH)
@click.option("--as", "user", required=True, metavar="USER", help="The user asking (a name in the access file).")
@click.option("--to", "dest", required=True, type=_PATH, help="Destination file or existing folder.")
@click.option("--access", "access_file", required=True, type=_PATH, help="Access TOML: [users.NAME] role/agent_id/teams, [agents.ID] team.")
@click.option("--audit-log", type=_PATH, help="Audit log (default: policy audit_log; one is required).")
@click.option("--policy", type=_PATH, help="TOML policy file (audit_log).")
@click.option("--sidecar", type=_PATH, help="Sidecar naming the recording's agent (default: found next to it).")
@click.pass_context
def export_cmd(ctx: click.Context, recording: Path, user: str, dest: Path, access_file: Path, audit_log: Path | None,
               policy: Path | None, sidecar: Path | None) -> None:
    """Copy RECORDING (an original or an anonymized *.anon.mp4) to DEST if USER may have it.

    Every attempt is logged; a refusal exits 6. The copy is atomic and mode 0640."""
    from anonymizer.policy.access import export, load_access

    try:
        log = audit_log
        if log is None:
            policy_log = _policy_defaults(policy)[1]
            if not policy_log:
                raise ConfigError("export needs an audit log: pass --audit-log or set [policy] audit_log")
            log = Path(policy_log)
        result = export(recording, dest, user=user, access=load_access(access_file), audit_log=log, sidecar=sidecar)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes
        _fail(ctx, exc)
    click.echo(f"exported: {result.destination} (rule {result.decision.rule}, sha256 {result.sha256})")


def register(cli: click.Group) -> None:
    """Attach ``audit``, ``purge`` and ``export`` to the main command group."""
    cli.add_command(audit_group)
    cli.add_command(purge_cmd)
    cli.add_command(export_cmd)
