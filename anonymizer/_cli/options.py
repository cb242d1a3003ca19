"""The options that make a run's configuration, shared by ``run`` and ``render``: a
render must be given the run's settings (their digest is compared with the plan's), so
both commands take them alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from anonymizer.config import AUDIO_MODES, LANGUAGES, STYLES, VOICES, Config, load_config

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--policy", type=click.Path(path_type=Path), help="TOML policy file."),
    click.option("--style", type=click.Choice(STYLES), help="Redaction style (default fill: irreversible)."),
    click.option("--audio-mode", type=click.Choice(AUDIO_MODES), help="Replace audio spans by a tone or silence."),
    click.option("--language", type=click.Choice((*LANGUAGES, "auto")),
                 help="Call language (default [audio] language, en). auto: Whisper decides per recording."),
    click.option("--no-audio", is_flag=True, help="Accept a recording without audio (video only)."),
    click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
                 help="Where OCR and speech-to-text run: auto uses CUDA only when torch and CTranslate2 both run on it; "
                      "cuda[:N] is refused (exit 2) if they cannot."),
    click.option("--voice", type=click.Choice(VOICES),
                 help="disguise: transform the agent's voice (with stereo, the agent's channel) so it cannot be recognised."),
)


def config_options(f: F) -> F:
    """Add --policy, --style, --audio-mode, --language, --no-audio, --device and --voice."""
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def config_from_options(policy: Path | None, style: str | None, audio_mode: str | None, language: str | None,
                        no_audio: bool, device: str, voice: str | None) -> Config:
    """The policy file with the options over it, validated, the device resolved (an
    unusable one is refused here, before any decoding)."""
    from anonymizer.runtime import with_runtime

    overrides: dict[str, dict[str, Any]] = {
        "video": {"style": style},
        "audio": {"mode": audio_mode, "language": language, "required": False if no_audio else None, "voice": voice},
    }
    return with_runtime(load_config(policy, overrides), device)
