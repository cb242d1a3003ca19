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
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete and log nothing.")
@click.pass_context
def purge_cmd(ctx: click.Context, root: Path, older_than: str | None, include_outputs: bool, dry_run: bool) -> None:
    """Delete original recordings (and their sidecars) under ROOT past their retention.

    The retention and the audit log come from the deployment's policy
    ($ANONYMIZER_POLICY, else /etc/anonymizer/policy.toml); a purge that deletes needs
    [policy] audit_log."""
    from anonymizer.policy.access import load_deployment
    from anonymizer.policy.retention import parse_duration, purge

    try:
        dep = load_deployment(for_export=False)
        days = parse_duration(older_than) if older_than is not None else float(dep.config.policy.retention_days)
        if dep.audit_log is None and not dry_run:
            raise ConfigError("purge needs [policy] audit_log in the deployment's policy: every deletion is logged",
                              path=dep.policy_path)
        paths = purge(root, older_than_days=days, include_outputs=include_outputs, audit_log=dep.audit_log, dry_run=dry_run)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes
        _fail(ctx, exc)
    verb = "would delete" if dry_run else "deleted"
    for p in paths:
        click.echo(f"{verb}: {p}")
    click.echo(f"{len(paths)} file(s) {verb}")


@click.command("export")
@click.argument("recording", type=_PATH)
@click.option("--to", "dest", required=True, type=_PATH, help="Destination file or existing folder.")
@click.option("--as", "user", metavar="USER", help="The user asking (default: you). Only an admin may name someone else.")
@click.pass_context
def export_cmd(ctx: click.Context, recording: Path, dest: Path, user: str | None) -> None:
    """Copy RECORDING (an original or an anonymized *.anon.mp4) to DEST if USER may have it.

    The deployment decides: the policy ($ANONYMIZER_POLICY, else /etc/anonymizer/policy.toml)
    names the access file, the report key and the audit log; the recording's agent comes
    from its own sidecar or signed report. Every attempt is logged; a refusal exits 6. The
    copy is atomic and mode 0640."""
    from anonymizer.policy.access import export, load_deployment, os_user

    try:
        dep = load_deployment()
        assert dep.access is not None and dep.key is not None and dep.audit_log is not None  # load_deployment checked
        who = os_user(dep.service_uid)
        result = export(recording, dest, user=user or who, os_user=who, access=dep.access, key=dep.key, audit_log=dep.audit_log,
                        service_uid=dep.service_uid)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes
        _fail(ctx, exc)
    click.echo(f"exported: {result.destination} (rule {result.decision.rule}, sha256 {result.sha256})")


def register(cli: click.Group) -> None:
    """Attach ``audit``, ``purge`` and ``export`` to the main command group."""
    cli.add_command(audit_group)
    cli.add_command(purge_cmd)
    cli.add_command(export_cmd)
