"""``anonymizer review``: the self-contained HTML review page of a published run.

Attached to the main group with ``register(cli)``; ``run --review`` calls
:func:`review_after_run`. Errors follow the CLI's contract: one line and the error's
documented exit code (a refused ``--with-original`` is 6, and is in the audit log)."""

from __future__ import annotations

from pathlib import Path

import click

_PATH = click.Path(path_type=Path)


@click.command("review")
@click.argument("report", type=_PATH)
@click.option("-o", "--output", "html", type=_PATH, help="HTML page to write, .html or .htm, never one of the run's or the deployment's files (default: REPORT's name with .review.html).")
@click.option("--video", type=_PATH, help="The anonymized MP4, if not where the report says.")
@click.option("--with-original", is_flag=True,
              help="Show the original pixels under each box: admins and trainers of the agent's team only; audited.")
@click.option("--original", type=_PATH, help="The original recording (default: where the report says); its sha256 must match.")
@click.option("--as", "user", metavar="USER", help="With --with-original: the user asking (default: you; only an admin may name someone else).")
@click.option("--max-keyframes", type=click.IntRange(1, 40), default=16, show_default=True, help="Key frames shown at most.")
@click.pass_context
def review_cmd(ctx: click.Context, report: Path, html: Path | None, video: Path | None, with_original: bool,
               original: Path | None, user: str | None, max_keyframes: int) -> None:
    """Write one self-contained HTML page to review the run of REPORT (*.anon.report.json).

    The page loads nothing from any network (its Content-Security-Policy forbids it) and,
    by default, holds no personal data: key frames and waveform of the anonymized output,
    the plan's boxes, spans, types and value hashes. Corrections made on it are downloaded
    as overrides.json for `anonymizer render --overrides`."""
    from anonymizer._cli import fail
    from anonymizer.errors import ConfigError
    from anonymizer.review import write_review

    try:
        if user is not None and not with_original:
            raise ConfigError("--as is only used with --with-original")
        path = write_review(report, html, output=video, with_original=with_original, original=original, user=user,
                            max_keyframes=max_keyframes)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes
        fail(exc, bool((ctx.find_root().obj or {}).get("debug")))
    click.echo(f"review page: {path} ({path.stat().st_size / 1e6:.2f} MB)" + (" - holds ORIGINAL pixels: keep it private"
                                                                               if with_original else ""))


def review_after_run(report_path: Path, html_path: Path | None = None) -> Path:
    """For ``run --review``: the default page (no original, so no access decision) of the
    run just published. Raises the package's errors like :func:`anonymizer.review.write_review`."""
    from anonymizer.review import write_review

    return write_review(Path(report_path), None if html_path is None else Path(html_path))


def register(cli: click.Group) -> None:
    """Attach ``review`` to the main command group."""
    cli.add_command(review_cmd)
