"""``anonymizer render``: the plan (and a reviewer's overrides) applied again, no analysis."""

from __future__ import annotations

import json
from pathlib import Path

import click

from anonymizer._cli.options import config_from_options, config_options

_PATH = click.Path(path_type=Path)


@click.command("render")
@click.argument("recording", type=_PATH)
@click.option("--plan", "plan", type=_PATH, required=True, help="The run's plan (RECORDING's .anon.plan.json).")
@click.option("--overrides", type=_PATH, help="Reviewer's overrides JSON (format: python -m pydoc anonymizer.overrides).")
@click.option("-o", "--output", type=_PATH, required=True, help="New anonymized MP4 (plan and report are written next to it).")
@click.option("--roster", type=_PATH, help="HR roster CSV, searched for again by verification.")
@click.option("--sidecar", type=_PATH, help="CTI sidecar JSON of the call (agent, call id for the report).")
@click.option("--audio", "audio", type=_PATH, help="Call audio as a separate file, if the run had one.")
@click.option("--asr-model", type=_PATH, help="CTranslate2 Whisper model folder for verification (default: bundled).")
@config_options  # the run's: the configuration's digest must be the plan's
@click.option("--user", help="Who renders (default: the OS user; another name only for an admin of the access file).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
def render_cmd(ctx: click.Context, recording: Path, plan: Path, overrides: Path | None, output: Path, roster: Path | None,
               sidecar: Path | None, audio: Path | None, asr_model: Path | None, policy: Path | None, style: str | None,
               audio_mode: str | None, language: str | None, no_audio: bool, device: str, voice: str | None,
               user: str | None, as_json: bool) -> None:
    """Render RECORDING again from its PLAN and a reviewer's OVERRIDES, without analysing it.

    Un-hiding needs the right to see the original (an admin, or a trainer of the agent's
    team, in the deployment's access file); adding boxes and bleeps does not. The output
    is verified again before it is published."""
    from anonymizer._cli import fail
    from anonymizer.rerender import rerender

    try:
        config = config_from_options(policy, style, audio_mode, language, no_audio, device, voice)
        result = rerender(recording, plan, overrides, output, config, user=user, roster=roster, sidecar=sidecar,
                          audio=audio, asr_model=asr_model)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes, fail closed
        fail(exc, ctx.obj["debug"])
    report = result.report
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1, sort_keys=True))
        return
    c, ov = report.counts, report.overrides
    click.echo(f"rendered: {report.output.file}")
    click.echo(f"  plan:   {report.output.plan}")
    click.echo(f"  report: {result.report_path}")
    click.echo(f"  screen boxes: {sum(c.screen.values())}  audio spans: {sum(c.audio.values())}"
               + (f"  overrides: {len(ov.items)} by {ov.reviewer}" if ov else ""))
    click.echo(f"  wall {report.wall_s:.1f} s")


def register(cli: click.Group) -> None:
    cli.add_command(render_cmd)
