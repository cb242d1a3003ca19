"""Command line (click). Fills options, calls the library, maps errors to exit codes.

Every failure prints one line, ``anonymizer: error: <file>: <reason>``, and exits with the
error's documented code; tracebacks are shown only with ``--debug``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from anonymizer import __version__
from anonymizer._cli.options import config_from_options, config_options
from anonymizer.errors import EXIT_CODES, AnonymizerError


def fail(exc: BaseException, debug: bool) -> NoReturn:
    """One line on stderr and the error's exit code; the traceback only with --debug."""
    if debug:
        raise exc
    if isinstance(exc, AnonymizerError):
        click.echo(f"anonymizer: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"anonymizer: internal error: {type(exc).__name__}: {exc} (nothing was published or changed; rerun with --debug)", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anonymizer")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("-v", "--verbose", count=True, help="More log output.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """Anonymize call-center screen+call recordings for training (CNIL 2019)."""
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2), format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"debug": debug}


_PATH = click.Path(path_type=Path)


@cli.command("run")
@click.argument("recording", type=_PATH)
@click.option("-o", "--output", type=_PATH, help="Anonymized MP4 (default: RECORDING.anon.mp4).")
@click.option("--roster", type=_PATH, help="HR roster CSV: employee_id,first_name,last_name,login,email,extension.")
@click.option("--sidecar", type=_PATH, help="CTI sidecar JSON (call id, agent, call times, windows).")
@click.option("--audio", "audio", type=_PATH, help="Call audio as a separate file (else the recording's own).")
@click.option("--asr-model", type=_PATH, help="CTranslate2 Whisper model folder (default: bundled tiny.en).")
@click.option("--report", type=_PATH, help="Report JSON (default: OUTPUT with .report.json).")
@click.option("--plan", "plan", type=_PATH, help="Plan JSON (default: OUTPUT with .plan.json).")
@config_options
@click.option("--review", is_flag=True, help="Also write the review page (OUTPUT with .review.html): see `anonymizer review`.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress bar (it is shown only on a terminal anyway).")
@click.pass_context
def run_cmd(ctx: click.Context, recording: Path, output: Path | None, roster: Path | None, sidecar: Path | None,
            audio: Path | None, asr_model: Path | None, report: Path | None, plan: Path | None, policy: Path | None,
            style: str | None, audio_mode: str | None, language: str | None, no_audio: bool, device: str, voice: str | None,
            review: bool, as_json: bool, quiet: bool) -> None:
    """Anonymize one RECORDING (mp4/mkv/webm) into an MP4, a plan and a report."""
    from anonymizer._cli.review import review_after_run
    from anonymizer.batch.progress import StageProgress
    from anonymizer.pipeline import Job, run

    try:
        config = config_from_options(policy, style, audio_mode, language, no_audio, device, voice)  # refused before any decoding
        out = output or recording.with_name(recording.stem + ".anon.mp4")
        job = Job(input=recording, output=out, config=config, roster=roster, sidecar=sidecar, audio=audio,
                  asr_model=asr_model, report=report, plan=plan)
        progress = StageProgress(enabled=not quiet)
        try:
            result = run(job, progress=progress)
        finally:
            progress.close()
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes, fail closed
        fail(exc, ctx.obj["debug"])
    page = None
    if review:  # the call is published by now: a page that cannot be written does not undo that
        try:
            page = review_after_run(job.report_path())
        except Exception as exc:  # noqa: BLE001 - reported, the run's exit code stands
            click.echo(f"anonymizer: warning: review page not written: {exc} (run `anonymizer review` again)", err=True)
    rep = result.report
    if as_json:
        click.echo(json.dumps(rep.to_dict(), indent=1, sort_keys=True))
    else:
        c = rep.counts
        click.echo(f"anonymized: {rep.output.file}")
        click.echo(f"  plan:   {rep.output.plan}")
        click.echo(f"  report: {result.report_path}")
        if page is not None:
            click.echo(f"  review: {page}")
        click.echo(f"  screen boxes: {sum(c.screen.values())} {c.screen}  audio spans: {sum(c.audio.values())} {c.audio}")
        click.echo(f"  device {rep.runtime.device}, encoder {rep.runtime.encoder}")
        click.echo(f"  wall {rep.wall_s:.1f} s, real-time factor {rep.real_time_factor}")


@cli.command("exit-codes")
def exit_codes() -> None:
    """List the exit codes."""
    for code, text in sorted(EXIT_CODES.items()):
        click.echo(f"{code}  {text}")


def main() -> None:
    cli(prog_name="anonymizer")


from anonymizer._cli.admin import register  # noqa: E402  (admin commands live apart)

register(cli)

from anonymizer._cli.batch import register as register_batch  # noqa: E402

register_batch(cli)

from anonymizer._cli.check import register as register_check  # noqa: E402

register_check(cli)

from anonymizer._cli.config import register as register_config  # noqa: E402

register_config(cli)

from anonymizer._cli.review import register as register_review  # noqa: E402

register_review(cli)

from anonymizer._cli.render import register as register_render  # noqa: E402

register_render(cli)
