"""``anonymizer batch INBOX --out OUTBOX``: the nightly job (see ``anonymizer.batch``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

_PATH = click.Path(path_type=Path)


@click.command("batch")
@click.argument("inbox", type=_PATH)
@click.option("--out", "outbox", type=_PATH, required=True, help="Output folder (mirrors INBOX's folders; holds the state database).")
@click.option("--roster", type=_PATH, help="HR roster CSV used for every recording.")
@click.option("--policy", type=_PATH, help="TOML policy file ([batch] quotas and limits too).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Local worker processes (default: CPU count / 2, at least 1).")
@click.option("--cluster", metavar="tcp://HOST:PORT", help="Submit each recording to this Dask scheduler instead of local workers.")
@click.option("--since", metavar="AGE", help="Only recordings modified in the last AGE (e.g. 24h, 7d).")
@click.option("--asr-model", type=_PATH, help="CTranslate2 Whisper model folder (default: bundled tiny.en).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Where models run, decided once for every worker: auto uses CUDA only when torch and CTranslate2 "
                   "both run on it; cuda[:N] is refused (exit 2) if they cannot.")
@click.option("--no-audio", is_flag=True, help="Accept recordings without audio (video only).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def batch_cmd(ctx: click.Context, inbox: Path, outbox: Path, roster: Path | None, policy: Path | None, workers: int | None,
              cluster: str | None, since: str | None, asr_model: Path | None, device: str, no_audio: bool, as_json: bool,
              quiet: bool) -> None:
    """Anonymize every recording under INBOX into OUTBOX, resumably (a rerun skips what is done)."""
    from anonymizer._cli import fail
    from anonymizer.batch import BatchOptions, run_batch
    from anonymizer.batch.progress import Progress
    from anonymizer.config import load_config, parse_duration_s
    from anonymizer.errors import BatchIncomplete, ConfigError
    from anonymizer.runtime import with_runtime

    debug = bool((ctx.find_root().obj or {}).get("debug"))
    try:
        # Device and encoder are resolved here, once: they go into the batch's resume key
        # (config.processing_digest), and each worker refuses to run anything else.
        config = with_runtime(load_config(policy, {"audio": {"required": False if no_audio else None}}), device)
        since_s = None
        if since is not None:
            since_s = parse_duration_s(since)
            if since_s is None:
                raise ConfigError(f"--since {since!r}: expected a number and a unit, e.g. 24h or 7d")
        opts = BatchOptions(inbox=inbox, outbox=outbox, config=config, roster=roster,
                            workers=workers or max(1, (os.cpu_count() or 2) // 2), cluster=cluster, since_s=since_s,
                            asr_model=asr_model, device=config.runtime.device)
        summary = run_batch(opts, progress=Progress(0, 0, enabled=not quiet))
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - mapped to exit codes, fail closed
        fail(exc, debug)
    data = summary.to_json()
    if as_json:
        click.echo(json.dumps(data, indent=1, sort_keys=True))
    else:
        click.echo(f"batch: {data['files']} recordings: {data['done']} done, {data['skipped']} skipped, "
                   f"{data['failed']} failed, {data['quota_deferred']} over quota, {data['deferred']} deferred "
                   f"(still being written); {data['ignored']} inbox entries ignored; {data['media_minutes']} min of media "
                   f"in {data['wall_s']:.1f} s (real-time factor {data['real_time_factor']})")
        for f in summary.failed:
            click.echo(f"  {f['status']}: {f['path']}: {f['reason']}")
        for d in summary.deferred:
            click.echo(f"  deferred: {d['path']}: {d['reason']}")
        for i in summary.ignored:
            click.echo(f"  ignored: {i['path']}: {i['reason']}")
    if not summary.ok:
        fail(BatchIncomplete(f"{len(summary.failed)} of {summary.files} recordings failed, were refused or quarantined"), False)


def register(cli: click.Group) -> None:
    cli.add_command(batch_cmd)
