"""``python -m tests.batch.cli FACTORY batch INBOX --out OUTBOX ...``: the production
``anonymizer`` command line, run with a test model set (FACTORY: ``module:function`` with
``runtime.load_models``' signature, e.g. ``tests.batch.fakes:load_models``).

The production command line cannot choose the models (issue 15, 11: its hidden
``--models-factory`` loaded any ``module:function``). This harness lives in the test tree
only: it wraps ``anonymizer.batch.run_batch`` so that the options the real CLI builds
carry the factory as a function. Everything else (option parsing, worker processes,
summary, JSON, exit codes) is the product's own; a SIGKILL of this process is a SIGKILL
of a batch."""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any


def resolve(dotted: str) -> Callable[..., Any]:
    """``"module:function"`` -> the function (test code only)."""
    module, _, name = dotted.partition(":")
    factory = getattr(importlib.import_module(module), name)
    if not callable(factory):
        raise TypeError(f"{dotted} is not a function")
    return factory  # type: ignore[no-any-return]


def main(argv: Sequence[str]) -> None:
    factory = resolve(argv[0])
    import anonymizer.batch as batch

    real = batch.run_batch

    def run_batch(opts: Any, **kwargs: Any) -> Any:
        return real(dataclasses.replace(opts, models_factory=factory), **kwargs)

    batch.run_batch = run_batch  # the CLI imports it from anonymizer.batch when it runs
    from anonymizer._cli import cli

    cli.main(args=list(argv[1:]), prog_name="anonymizer")


if __name__ == "__main__":
    main(sys.argv[1:])
