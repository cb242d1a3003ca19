"""Where the models run and which encoder writes the video, decided once at start.

Why probe rather than ask: ``torch.cuda.is_available()`` says a driver answers, not that the
stack works. CTranslate2 4.8 loads ``libcublas.so.12`` on its first matrix product, while
torch may bring only CUDA 13's cuBLAS (faster-whisper issue 1431): asking alone, a CUDA run
would fail at the first transcription, after the whole screen pass. So ``auto`` picks CUDA
only when torch *and* CTranslate2 each run one small real operation on the device, and an
explicit ``cuda``/``cuda:N`` that cannot is refused at start (``ConfigError``, exit 2).

The choice (device and encoder) goes into ``Config.runtime``, hence into every config
digest: GPU and CPU outputs differ (float16 Whisper, NVENC), so a batch's resume key and a
report's ``config_sha256`` must name them. The probes are module-level functions so tests
can replace them (``monkeypatch.setattr(runtime, "probe_torch", ...)``)."""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from anonymizer.config import Config, RuntimeConfig
from anonymizer.errors import ConfigError
from anonymizer.ocr import EasyOcrEngine, OcrEngine, available_cpus, cpu_threads
from anonymizer.speech import Transcriber, WhisperTranscriber

log = logging.getLogger(__name__)

_DEVICE = re.compile(r"auto|cpu|cuda(?::(\d{1,2}))?")
DEVICE_HELP = "auto|cpu|cuda[:N]"
# What CTranslate2 4.x dlopens on its first GEMM on CUDA (faster-whisper issue 1431); loaded
# here by the same name, so the probe finds what CTranslate2 would find (or a preloaded copy).
CT2_CUDA_LIBRARIES = ("libcublas.so.12",)
NO_DEVICE = "sees no CUDA device"  # a plain CPU host: said at INFO; a broken CUDA stack at WARNING


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu" or "cuda:N"
    reason: str  # one sentence: why this device

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def index(self) -> int:
        """The CUDA device index (0 on CPU)."""
        return int(self.device.split(":")[1]) if self.is_cuda else 0


def parse_device(requested: str) -> tuple[str, int]:
    """``"cuda:1"`` -> ("cuda", 1); ``"cuda"`` -> ("cuda", 0); ``"auto"`` -> ("auto", 0)."""
    m = _DEVICE.fullmatch(requested.strip().lower())
    if m is None:
        raise ConfigError(f"--device {requested!r}: expected auto, cpu, cuda or cuda:N")
    kind = m.group(0).split(":")[0]
    return kind, int(m.group(1) or 0)


def probe_torch(index: int) -> str | None:
    """None when torch runs a small op on ``cuda:index``; else why not."""
    try:
        import torch
    except ImportError as exc:
        return f"torch cannot be imported ({exc})"
    try:
        if not torch.cuda.is_available():
            return f"torch {NO_DEVICE}"
        if index >= torch.cuda.device_count():
            return f"torch sees {torch.cuda.device_count()} CUDA device(s), not cuda:{index}"
        x = torch.arange(16, dtype=torch.float32, device=f"cuda:{index}").reshape(4, 4)
        value = float((x @ x).sum().item())  # a GEMM: cuBLAS, as EasyOCR will use it
        torch.cuda.synchronize(index)
    except Exception as exc:  # noqa: BLE001 - any CUDA failure means "not this device"
        return f"torch cannot run on cuda:{index} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if abs(value - 3920.0) > 1e-3:
        return f"torch on cuda:{index} computed a wrong result ({value})"
    return None


def probe_ctranslate2(index: int) -> str | None:
    """None when CTranslate2 sees ``cuda:index``, moves data to and from it, and can load
    the cuBLAS it was built for; else why not. Loads the ``gpu`` extra's CUDA 12 cuBLAS
    first (``anonymizer.cuda_libs``), as a CUDA run will."""
    from anonymizer.cuda_libs import preload_cuda12

    try:
        preload_cuda12()
    except OSError as exc:
        return f"the CUDA 12 cuBLAS for CTranslate2 does not load ({exc})"
    try:
        import ctranslate2
        import numpy as np
    except ImportError as exc:
        return f"CTranslate2 cannot be imported ({exc})"
    try:
        count = int(ctranslate2.get_cuda_device_count())
        if count == 0:
            return f"CTranslate2 {NO_DEVICE}"
        if count <= index:
            return f"CTranslate2 sees {count} CUDA device(s), not cuda:{index}"
        host = np.arange(4, dtype=np.float32)
        on_gpu = ctranslate2.StorageView.from_array(host).to_device(ctranslate2.Device.cuda, index)
        back = np.asarray(on_gpu.to_device(ctranslate2.Device.cpu))
    except Exception as exc:  # noqa: BLE001 - any CUDA failure means "not this device"
        return f"CTranslate2 cannot run on cuda:{index} ({type(exc).__name__}: {exc})"
    if not np.array_equal(back, host):
        return f"CTranslate2 on cuda:{index} returned wrong data"
    for name in CT2_CUDA_LIBRARIES:
        try:
            ctypes.CDLL(name)
        except OSError:
            return f"CTranslate2 cannot load {name}, which it needs on CUDA (install the gpu extra)"
    return None


def resolve_device(requested: str) -> DeviceChoice:
    """The device for ``requested`` (auto | cpu | cuda | cuda:N). ``auto`` falls back to
    the CPU with one log line saying why; ``cuda``/``cuda:N`` that cannot run is a
    ``ConfigError`` (exit 2), raised before anything is decoded."""
    kind, index = parse_device(requested)
    if kind == "cpu":
        return DeviceChoice("cpu", "asked for (--device cpu)")
    # CTranslate2 first: Whisper then keeps its own OpenMP runtime (asr_threads, below).
    why_not = probe_ctranslate2(index) or probe_torch(index)
    if kind == "cuda":
        if why_not is not None:
            raise ConfigError(f"--device {requested}: {why_not}")
        return DeviceChoice(f"cuda:{index}", f"asked for (--device {requested}); torch and CTranslate2 both run on it")
    if why_not is not None:
        choice = DeviceChoice("cpu", f"--device auto chose the CPU: {why_not}")
        log.log(logging.INFO if NO_DEVICE in why_not else logging.WARNING, "%s", choice.reason)
        return choice
    return DeviceChoice(f"cuda:{index}", "--device auto: torch and CTranslate2 both run on it")


def with_runtime(config: Config, requested: str) -> Config:
    """``config`` with the resolved device and the encoder that opens on it (see
    ``media.writer.choose_encoder``): what a run or a batch actually uses."""
    from anonymizer.media.writer import choose_encoder

    choice = resolve_device(requested)
    encoder, encoder_reason = choose_encoder(choice.device)
    return dataclasses.replace(config, runtime=RuntimeConfig(device=choice.device, encoder=encoder,
                                                             device_reason=choice.reason, encoder_reason=encoder_reason))


def check_runtime(config: Config, requested: str) -> DeviceChoice:
    """In a batch worker: refuse to start unless this host runs exactly the device and the
    encoder that ``config.runtime`` (hence the batch's resume key) names. ``requested``
    "auto" means the config's device."""
    rt = config.runtime
    choice = resolve_device(rt.device if requested == "auto" else requested)
    if choice.device != rt.device:
        raise ConfigError(f"this worker would run on {choice.device} but the batch's config names {rt.device}; "
                          "refused so that every output matches its key")
    if rt.encoder != "libx264":
        from anonymizer.media.writer import choose_encoder

        encoder, why = choose_encoder(choice.device)
        if encoder != rt.encoder:
            raise ConfigError(f"this worker cannot use the batch's encoder {rt.encoder}: {why}")
    return choice


@dataclass
class Models:
    """Loaded once per process; a batch reuses them for every file."""

    ocr: OcrEngine
    transcriber: Transcriber | None


def asr_threads(threads: int, cpus: int, *, shared_openmp: bool) -> int:
    """Intra-op threads for Whisper in a process whose OCR uses ``threads`` of ``cpus``.

    CTranslate2 (Whisper) ships its own libgomp, but when torch (EasyOCR, and spaCy through
    thinc) is loaded first, both run in torch's OpenMP runtime. libgomp stops spin-waiting
    between parallel regions once it manages more threads than the process has CPUs; the
    recogniser's many small ops then sleep and wake their threads each time. On 2 cores,
    EasyOCR read the same 60 text lines in 1.5 s before Whisper had run and 7.3 s after, for
    the rest of the process (verification, every later file of a batch). So with a shared
    runtime Whisper's team is sized to keep the two within the CPUs; tiny and base gain
    nothing from a second thread on 2 cores (60 s of speech: 1.66 s with 1, 1.72 s with 2).
    ``benchmarks/bench_recogniser.py`` measures it side by side."""
    if not shared_openmp:
        return threads
    return max(1, min(threads, cpus - threads + 1))


def load_models(config: Config, *, asr_model: Path | None = None, device: str | None = None, need_audio: bool = True) -> Models:
    """EasyOCR and Whisper on ``device`` ("cpu" or "cuda:N"; default ``config.runtime.device``)."""
    device = device or config.runtime.device
    threads = cpu_threads()
    # Whisper first: CTranslate2 then binds to its own OpenMP runtime (see asr_threads), and
    # it sets the OpenMP thread count of the thread that loads it, which EasyOcrEngine then
    # sets back to ``threads`` for torch.
    shared = "torch" in sys.modules and "ctranslate2" not in sys.modules
    transcriber = (WhisperTranscriber(asr_model, language=config.audio.language, device=device,
                                      threads=asr_threads(threads, available_cpus(), shared_openmp=shared))
                   if need_audio else None)
    ocr = EasyOcrEngine(device=device, threads=threads, detector=config.video.text_detector == "craft")
    return Models(ocr=ocr, transcriber=transcriber)
