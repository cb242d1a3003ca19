"""Command line (click). Fills options, calls the library, maps errors to exit codes.

Every failure prints one line, ``anonymizer: error: <file>: <reason>``, and exits with the
error's documented code; tracebacks are shown only with ``--debug``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from anonymizer import __version__
from anonymizer.config import AUDIO_MODES, LANGUAGES, STYLES, load_config
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
@click.option("--policy", type=_PATH, help="TOML policy file.")
@click.option("--audio", "audio", type=_PATH, help="Call audio as a separate file (else the recording's own).")
@click.option("--asr-model", type=_PATH, help="CTranslate2 Whisper model folder (default: bundled tiny.en).")
@click.option("--report", type=_PATH, help="Report JSON (default: OUTPUT with .report.json).")
@click.option("--plan", "plan", type=_PATH, help="Plan JSON (default: OUTPUT with .plan.json).")
@click.option("--style", type=click.Choice(STYLES), help="Redaction style (default fill: irreversible).")
@click.option("--audio-mode", type=click.Choice(AUDIO_MODES), help="Replace audio spans by a tone or silence.")
@click.option("--language", type=click.Choice((*LANGUAGES, "auto")),
              help="Call language for speech-to-text (fr and auto use the bundled multilingual model).")
@click.option("--no-audio", is_flag=True, help="Accept a recording without audio (video only).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Where OCR and speech-to-text run: auto uses CUDA only when torch and CTranslate2 both run on it; "
                   "cuda[:N] is refused (exit 2) if they cannot.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
def run_cmd(ctx: click.Context, recording: Path, output: Path | None, roster: Path | None, sidecar: Path | None,
            policy: Path | None, audio: Path | None, asr_model: Path | None, report: Path | None, plan: Path | None,
            style: str | None, audio_mode: str | None, language: str | None, no_audio: bool, device: str, as_json: bool) -> None:
    """Anonymize one RECORDING (mp4/mkv/webm) into an MP4, a plan and a report."""
    from anonymizer.pipeline import Job, run
    from anonymizer.runtime import with_runtime

    try:
        overrides: dict[str, dict[str, Any]] = {
            "video": {"style": style},
            "audio": {"mode": audio_mode, "language": language, "required": False if no_audio else None},
        }
        config = with_runtime(load_config(policy, overrides), device)  # refused here, before any decoding
        out = output or recording.with_name(recording.stem + ".anon.mp4")
        job = Job(input=recording, output=out, config=config, roster=roster, sidecar=sidecar, audio=audio,
                  asr_model=asr_model, report=report, plan=plan)
        result = run(job)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes, fail closed
        fail(exc, ctx.obj["debug"])
    if as_json:
        click.echo(json.dumps(result, indent=1, sort_keys=True))
    else:
        c = result["counts"]
        click.echo(f"anonymized: {result['output']['file']}")
        click.echo(f"  plan:   {result['output']['plan']}")
        click.echo(f"  report: {job.report_path()}")
        click.echo(f"  screen boxes: {sum(c['screen'].values())} {c['screen']}  audio spans: {sum(c['audio'].values())} {c['audio']}")
        rt = result["runtime"]
        click.echo(f"  device {rt['device']}, encoder {rt['encoder']}")
        click.echo(f"  wall {result['wall_s']:.1f} s, real-time factor {result['real_time_factor']}")


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
