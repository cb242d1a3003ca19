"""anonymizer: make call-center screen+call recordings shareable for training.

The library never imports the CLI; see ``anonymizer._cli`` for the command line.

Nothing leaves the machine (docs/compliance.md, "Security"): before any dependency is
imported, the switches that keep them offline are forced here, in the library, so that
every entry point (the CLI, the batch's spawned workers, a Dask worker, a notebook) gets
them. Forced, not defaulted: a value left in the environment (``ORT_DISABLE_TELEMETRY=0``)
must not turn phoning home back on. ``tests/test_network_isolation.py`` proves it at the
system level.
"""

import os
import sys

__version__ = "0.1.0"

OFFLINE_ENV = {
    # onnxruntime (faster-whisper's Silero VAD) ships Microsoft's 1DS telemetry: on import
    # it writes a device id, the OS and CPU to ~/.cache/Microsoft/DeveloperTools/.onnxruntime
    # and uploads to mobile.events.data.microsoft.com (issue 15, finding 1). It reads this
    # variable once, when onnxruntime_pybind11_state loads.
    "ORT_DISABLE_TELEMETRY": "1",
    # huggingface_hub (imported by faster-whisper and tokenizers): no downloads, no
    # telemetry; read when huggingface_hub is first imported.
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # The common opt-out, read by huggingface_hub and other tools.
    "DO_NOT_TRACK": "1",
}
os.environ.update(OFFLINE_ENV)

if "onnxruntime" in sys.modules:  # imported before us: too late for the variable, stop its events at least
    _ort = sys.modules["onnxruntime"]
    if hasattr(_ort, "disable_telemetry_events"):
        _ort.disable_telemetry_events()
