"""Score an anonymized recording against the ground truth written by ``benchmarks.corpus``.

What is measured
----------------
* **Leaks** - for every PII box in every truth frame (a *box-frame*) the matching OUTPUT
  frame is cropped around the box (padded by ``pad`` px) and read by two readers: Tesseract
  (Debian's ``tesseract-ocr`` + ``-fra``, through pytesseract), an engine the product does
  not use and so does not share its blind spots, and an independent EasyOCR pass
  (``readtext`` plus a whole-crop ``recognize``). A leak seen by either reader counts
  (``readers=("tesseract",)`` or ``("easyocr",)`` for one alone). The box-frame leaks if the
  text read contains the value, or any 4 consecutive characters of it (compared
  case-insensitively, accents stripped, spaces/punctuation ignored). Values shorter than
  3 such characters (the first keystrokes typed in the search box) are not scored.
  Crops are de-duplicated (exact hash, then near-duplicates of the same value and size),
  so each distinct image is read once; ``max_crops`` caps the number of OCR calls
  (box-frames whose crop was not read are reported as ``unchecked``).
* **Coverage** (needs ``original``) - fraction of truth PII box pixels that differ from
  the original by more than 8 levels (max over RGB).
* **Labels destroyed** (needs ``original``) - label boxes whose pixels changed (> 8 levels)
  on more than 30 % of their area, or which OCR read in the original but not any more in
  the output (label OCR is done last, within ``max_crops``).
* **Frames** - frame count and every frame's pts equal to the truth (0.5 ms tolerance).
* **Audio** - sample rate and channel count equal to the truth, sample count within one
  AAC frame (1024 samples); with ``original``: which spoken PII spans *survive*. Both
  tracks are resampled to 16 kHz mono; per span the lag (within +-50 ms) maximising the
  correlation is found, then the span is cut into 20 ms windows; a span survives if more
  than 10 % of its speech windows (original RMS above 10 % of the span's loudest window)
  have a normalised correlation > 0.5 with the original.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

__all__ = ["entity_key", "leaks", "main", "normalize", "plan_precision", "score"]

CHANGE_LEVEL = 8  # a pixel "changed" if it differs by more than this (0..255, max over RGB)
LABEL_DESTROYED_FRACTION = 0.30
AUDIO_SR = 16000
AAC_FRAME = 1024
MIN_SCORED_CHARS = 3


class OcrReader(Protocol):
    def readtext(self, image: np.ndarray, detail: int = ...) -> list[Any]: ...


_READER: Any = None
READERS = ("tesseract", "easyocr")


class TesseractReader:
    """Tesseract through pytesseract (one ``tesseract`` process per crop, run in parallel):
    the product never uses it. A crop is one box, so one text line (``--psm 7``); light text
    on dark is inverted, contrast stretched (white on a coloured bar) and small text enlarged
    to ~40 px, as Tesseract reads dark on light at that size best."""

    name = "tesseract"

    def __init__(self, langs: str = "eng+fra", workers: int | None = None) -> None:
        import shutil

        if shutil.which("tesseract") is None:
            raise FileNotFoundError("the scorer needs Debian's tesseract-ocr and tesseract-ocr-fra "
                                    "(make system-deps)")
        self.langs = langs
        self.workers = workers or max(1, os.cpu_count() or 1)

    def _prep(self, image: np.ndarray) -> Any:
        from PIL import Image, ImageOps

        img = ImageOps.autocontrast(Image.fromarray(image).convert("L"), cutoff=1)
        if float(np.median(np.asarray(img))) < 128:  # the background is the commonest shade
            img = ImageOps.invert(img)
        f = min(4.0, max(1.0, 40.0 / max(1, img.height)))
        if f > 1.0:
            img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))),
                             Image.Resampling.BICUBIC)
        return ImageOps.expand(img, border=10, fill=255)

    def readtext(self, image: np.ndarray, detail: int = 0) -> list[str]:
        import pytesseract

        return [pytesseract.image_to_string(self._prep(image), lang=self.langs, config="--psm 7").strip()]

    def read_many(self, crops: Sequence[np.ndarray]) -> list[str]:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers) as ex:
            return [" | ".join(r) for r in ex.map(self.readtext, crops)]


def make_readers(names: Sequence[str] = READERS) -> list[Any]:
    """The scorer's readers by name: ``tesseract``, ``easyocr``."""
    out: list[Any] = []
    for n in names:
        if n == "tesseract":
            out.append(TesseractReader())
        elif n == "easyocr":
            out.append(default_reader())
        else:
            raise ValueError(f"unknown reader {n!r}; choose from {READERS}")
    return out


def default_reader() -> Any:
    """The CPU EasyOCR English reader, loaded once (weights come from easyocr_en_models)."""
    global _READER
    if _READER is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import easyocr
            import easyocr_en_models

            _READER = easyocr.Reader(["en"],
                                     model_storage_directory=easyocr_en_models.model_dir(),
                                     download_enabled=False, gpu=False, verbose=False)
    return _READER


@contextlib.contextmanager
def _single_thread_torch() -> Iterator[None]:
    """OCR of small crops is fastest on one thread, and far faster when the CPU is shared."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def entity_key(item: dict[str, Any]) -> str:
    """Table row of a truth box or span: 'TYPE' or 'PERSON/form', then the category:
    'PERSON/first colleague', 'PHONE_NUMBER customer'."""
    form = item.get("form")
    return f"{item['type']}{'/' + form if form else ''} {item.get('who') or '?'}"


def normalize(s: str) -> str:
    """Lower-case, accents stripped, only letters and digits kept."""
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if ch.isalnum() and not unicodedata.combining(ch)).lower()


def leaks(text: str, value: str, k: int = 4) -> bool:
    """Does OCR ``text`` reveal ``value`` (whole, or ``k`` consecutive characters of it)?"""
    nv, nt = normalize(value), normalize(text)
    if not nv or not nt:
        return False
    if len(nv) <= k:
        return nv in nt
    return any(nv[i:i + k] in nt for i in range(len(nv) - k + 1))


# --------------------------------------------------------------------------- decoding


def _video_frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        if not c.streams.video:
            return
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        for fr in c.decode(st):
            if fr.pts is None:
                continue
            tb = fr.time_base or st.time_base or 1
            yield float(fr.pts * tb), fr.to_ndarray(format="rgb24")


@dataclass
class AudioInfo:
    present: bool
    sample_rate: int = 0
    channels: int = 0
    n_samples: int = 0
    mono16k: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def _audio(path: Path, want_pcm: bool) -> AudioInfo:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return AudioInfo(False)
        st = c.streams.audio[0]
        sr, ch = st.codec_context.sample_rate, st.codec_context.channels
        res = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_SR) if want_pcm else None
        n = 0
        chunks: list[np.ndarray] = []
        for fr in c.decode(st):
            n += fr.samples
            if res is not None:
                for o in res.resample(fr):
                    chunks.append(o.to_ndarray().reshape(-1))
        if res is not None:
            for o in res.resample(None):
                chunks.append(o.to_ndarray().reshape(-1))
    pcm = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return AudioInfo(True, sr, ch, n, pcm)


# --------------------------------------------------------------------------- crop cache


class _CropPool:
    """De-duplicates crops: exact content hash, then near-duplicates with the same key."""

    def __init__(self, near_mad: float = 2.0, per_key: int = 8) -> None:
        self.near_mad = near_mad
        self.per_key = per_key
        self.by_hash: dict[bytes, int] = {}
        self.by_key: dict[Any, list[int]] = defaultdict(list)
        self.crops: list[np.ndarray] = []
        self.first_key: list[Any] = []

    def add(self, crop: np.ndarray, key: Any) -> int:
        h = hashlib.blake2b(crop.tobytes() + str(crop.shape).encode(), digest_size=16).digest()
        cid = self.by_hash.get(h)
        if cid is not None:
            return cid
        cands = self.by_key[(key, crop.shape)]
        c16 = crop.astype(np.int16)
        for cid in cands:
            if float(np.abs(self.crops[cid].astype(np.int16) - c16).mean()) < self.near_mad:
                self.by_hash[h] = cid
                return cid
        cid = len(self.crops)
        self.crops.append(crop)
        self.first_key.append(key)
        self.by_hash[h] = cid
        cands.append(cid)
        if len(cands) > self.per_key:
            cands.pop(0)
        return cid


def _crop(img: np.ndarray, box: Sequence[int], pad: int) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    H, W = img.shape[:2]
    return np.ascontiguousarray(img[max(0, y - pad):min(H, y + h + pad),
                                    max(0, x - pad):min(W, x + w + pad)])


def _ocr_text(reader: Any, crop: np.ndarray) -> str:
    if crop.size == 0:
        return ""
    img = crop
    if img.shape[0] < 20:  # small text: upscale so the recogniser sees >= ~20 px lines
        from PIL import Image

        f = min(3.0, 20.0 / max(1, img.shape[0]))
        pil = Image.fromarray(img).resize((max(1, round(img.shape[1] * f)),
                                           max(1, round(img.shape[0] * f))), Image.Resampling.BICUBIC)
        img = np.asarray(pil)
    parts = [str(t) for t in reader.readtext(img, detail=0)]
    if hasattr(reader, "recognize"):  # whole-crop recognition: a second opinion
        parts += [str(t) for t in reader.recognize(img, detail=0)]
    return " | ".join(parts)


def _changed_fraction(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    if a.shape != b.shape or a.size == 0:
        return 0, 0
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return int((d > CHANGE_LEVEL).sum()), int(d.size)


# --------------------------------------------------------------------------- audio spans


def _windows(orig: np.ndarray, out: np.ndarray, start_s: float, end_s: float,
             max_lag_s: float = 0.05, win_s: float = 0.02) -> tuple[np.ndarray, np.ndarray, int]:
    """The span of ``orig`` cut into ``win_s`` windows, aligned with ``out`` (best lag by
    FFT cross-correlation within +-``max_lag_s``): per window, whether it holds speech
    (RMS above a tenth of the span's loudest) and its normalised correlation with the
    output there (a window kept through AAC correlates > 0.9; a tone or silence ~0)."""
    s0, s1 = round(start_s * AUDIO_SR), round(end_s * AUDIO_SR)
    s1 = min(s1, len(orig))
    a = orig[s0:s1].astype(np.float64)
    L = round(max_lag_s * AUDIO_SR)
    win = round(win_s * AUDIO_SR)
    if len(a) < win:
        return np.zeros(0, bool), np.zeros(0), 0
    lo = s0 - L
    seg = np.zeros(len(a) + 2 * L)
    src_lo, src_hi = max(0, lo), min(len(out), s1 + L)
    if src_hi > src_lo:
        seg[src_lo - lo: src_hi - lo] = out[src_lo:src_hi]
    n = 1 << int(np.ceil(np.log2(len(seg) + len(a))))
    xc = np.fft.irfft(np.fft.rfft(seg, n) * np.conj(np.fft.rfft(a, n)), n)[: 2 * L + 1]
    lag = int(np.argmax(xc)) - L if np.any(seg) else 0
    b = seg[L + lag: L + lag + len(a)]
    nw = len(a) // win
    A = a[: nw * win].reshape(nw, win)
    B = b[: nw * win].reshape(nw, win)
    rms = np.sqrt((A ** 2).mean(axis=1))
    speech = rms > max(1e-4, 0.1 * float(rms.max()))
    num = (A * B).sum(axis=1)
    den = np.sqrt((A ** 2).sum(axis=1) * (B ** 2).sum(axis=1)) + 1e-12
    return speech, num / den, lag


def _span_survival(orig: np.ndarray, out: np.ndarray, start_s: float, end_s: float) -> dict[str, Any]:
    speech, corr, lag = _windows(orig, out, start_s, end_s)
    n_speech = int(speech.sum())
    frac = float((corr[speech] > 0.5).mean()) if n_speech else 0.0
    return {"survived": frac > 0.10, "fraction": round(frac, 4), "speech_windows": n_speech,
            "lag_ms": round(lag * 1000 / AUDIO_SR, 2)}


def speech_kept(orig: np.ndarray, out: np.ndarray, speech: list[dict[str, Any]]) -> dict[str, Any]:
    """Usefulness of the sound (issue 17): of the ordinary (non-personal) speech of the call,
    the share of its 20 ms speech windows that reach the output unaltered (correlation
    > 0.5 with the original: not bleeped, not silenced). Also per speaker."""
    kept: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for u in speech:
        if u["pii"]:
            continue
        sp, corr, _ = _windows(orig, out, u["start_s"], u["end_s"])
        for who in (u["who"], "all"):
            kept[who][0] += int((corr[sp] > 0.5).sum())
            kept[who][1] += int(sp.sum())
    win_s = 0.02
    return {who: {"kept_s": round(k * win_s, 2), "speech_s": round(n * win_s, 2),
                  "share": round(k / n, 4) if n else None} for who, (k, n) in sorted(kept.items())}


# --------------------------------------------------------------------------- precision


def _plan_box_on(b: dict[str, Any], box: Sequence[int]) -> bool:
    """Whether the plan box ``b`` overlaps the truth ``box`` (x, y, w, h)."""
    x, y, w, h = box
    return bool(b["x"] < x + w and x < b["x"] + b["w"] and b["y"] < y + h and y < b["y"] + b["h"])


def plan_precision(truth_path: Path, plan_path: Path, *, pad: int = 4) -> dict[str, Any]:
    """How much of what the plan hides is PII, from the plan's boxes and the truth boxes.

    * box precision: plan box-frames (a plan box active at a truth frame's time) that
      overlap a truth PII box of that frame, over all plan box-frames; also per plan type;
    * area precision: pixels of the plan boxes (union per frame) inside a truth PII box
      grown by ``pad`` px (the plan pads its boxes too), over all plan box pixels;
    * audio: seconds of plan spans inside a truth span (grown by 0.3 s) over all span seconds.
    """
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    W, H = int(truth["width"]), int(truth["height"])
    boxes = plan.get("boxes") or []
    starts = np.array([b["start_s"] for b in boxes], dtype=np.float64)
    ends = np.array([b["end_s"] for b in boxes], dtype=np.float64)
    n = hits = 0
    area = area_in = 0
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"box_frames": 0, "on_pii": 0})
    # Label box-frames a plan box overlaps, by the plan box's type, and by the label's text:
    # what destroys the interface, and which part of it.
    labels_by_type: dict[str, int] = defaultdict(int)
    labels_by_text: dict[str, int] = defaultdict(int)
    for fr in truth["frames"]:
        t = float(fr["t"])
        active = np.nonzero((starts - 1e-6 <= t) & (t <= ends + 1e-6))[0]
        if len(active) == 0:
            continue
        for lb in fr.get("labels") or []:
            types = {boxes[j]["type"] for j in active if _plan_box_on(boxes[j], lb["box"])}
            for typ in types:
                labels_by_type[typ] += 1
            if types:
                labels_by_text[lb["text"]] += 1
        tmask = np.zeros((H, W), dtype=bool)
        rects = []
        for p in fr["pii"]:
            x, y, w, h = p["box"]
            rects.append((x, y, x + w, y + h))
            tmask[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad] = True
        pmask = np.zeros((H, W), dtype=bool)
        for j in active:
            b = boxes[j]
            x0, y0 = max(0, int(b["x"])), max(0, int(b["y"]))
            x1, y1 = min(W, int(b["x"] + b["w"])), min(H, int(b["y"] + b["h"]))
            if x1 <= x0 or y1 <= y0:
                continue
            pmask[y0:y1, x0:x1] = True
            hit = any(x0 < r[2] and r[0] < x1 and y0 < r[3] and r[1] < y1 for r in rects)
            n += 1
            hits += int(hit)
            by_type[b["type"]]["box_frames"] += 1
            by_type[b["type"]]["on_pii"] += int(hit)
        area += int(pmask.sum())
        area_in += int((pmask & tmask).sum())
    spans = truth.get("audio_spans") or []
    a_tot = a_in = 0.0
    for sp in plan.get("audio_spans") or []:
        s0, s1 = float(sp["start_s"]), float(sp["end_s"])
        a_tot += max(0.0, s1 - s0)
        cuts = sorted((max(s0, t["start_s"] - 0.3), min(s1, t["end_s"] + 0.3)) for t in spans)
        covered, cur = 0.0, s0
        for lo, hi in cuts:
            lo = max(lo, cur)
            if hi > lo:
                covered += hi - lo
                cur = hi
        a_in += covered
    return {
        "box_frames": n, "on_pii": hits,
        "box_precision": round(hits / n, 4) if n else None,
        "area_px": area, "area_on_pii_px": area_in,
        "area_precision": round(area_in / area, 4) if area else None,
        "by_type": dict(sorted(by_type.items())),
        "labels_covered_by_type": dict(sorted(labels_by_type.items(), key=lambda kv: -kv[1])),
        "labels_covered_by_text": dict(sorted(labels_by_text.items(), key=lambda kv: -kv[1])[:40]),
        "audio_s": round(a_tot, 3), "audio_on_pii_s": round(a_in, 3),
        "audio_precision": round(a_in / a_tot, 4) if a_tot else None,
    }


# --------------------------------------------------------------------------- main entry


def score(truth_path: Path, output_video: Path, *, original: Path | None = None,
          ocr_reader: Any = None, max_crops: int | None = None, pad: int = 4,
          ocr_labels: bool = True, readers_named: Sequence[str] = READERS,
          plan: Path | None = None) -> dict[str, Any]:
    """Score ``output_video`` against ``truth_path`` (see the module docstring).
    ``ocr_reader``: a reader or a list of readers (default: ``readers_named``)."""
    t_start = time.perf_counter()
    truth_path, output_video = Path(truth_path), Path(output_video)
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    tframes: list[dict[str, Any]] = truth["frames"]
    fps = float(truth["fps"])
    T = np.array([f["t"] for f in tframes], dtype=np.float64)
    tol = 0.5 / fps

    pool = _CropPool()
    pii_refs: list[tuple[int, int, str, str, str]] = []  # (frame, crop id, type, value, key)
    n_short = 0
    cov_changed: dict[str, int] = defaultdict(int)
    cov_total: dict[str, int] = defaultdict(int)
    label_refs: list[tuple[int, int, int, str, bool, bool]] = []  # frame, out, orig, text, px, decoy
    # With the plan: which labels whose pixels changed lay under a redaction box, and which
    # only went through the output's encoding (a white label on a red button loses more
    # than 8 levels on a third of its pixels to chroma subsampling, hidden by nothing).
    plan_boxes = (json.loads(Path(plan).read_text(encoding="utf-8")).get("boxes") or []) if plan is not None else None
    label_px_where: dict[str, int] = defaultdict(int)
    out_times: list[float] = []
    matched: set[int] = set()
    unmatched_out = 0
    size = None

    orig_iter = _video_frames(Path(original)) if original is not None else None
    orig_cur: tuple[int, np.ndarray] | None = None

    def orig_frame(k: int) -> np.ndarray | None:
        nonlocal orig_cur
        if orig_iter is None:
            return None
        while orig_cur is None or orig_cur[0] < k:
            try:
                t, img = next(orig_iter)
            except StopIteration:
                return None
            j = int(np.argmin(np.abs(T - t)))
            if abs(T[j] - t) <= tol:
                orig_cur = (j, img)
        return orig_cur[1] if orig_cur[0] == k else None

    t_dec = time.perf_counter()
    for t, img in _video_frames(output_video):
        out_times.append(t)
        if size is None:
            size = (img.shape[1], img.shape[0])
        k = int(np.argmin(np.abs(T - t))) if len(T) else -1
        if k < 0 or abs(T[k] - t) > tol or k in matched:
            unmatched_out += 1
            continue
        matched.add(k)
        fr = tframes[k]
        org = orig_frame(k)
        for p in fr["pii"]:
            value = p["value"]
            if len(normalize(value)) < MIN_SCORED_CHARS:
                n_short += 1
                continue
            _, _, w, h = p["box"]
            cid = pool.add(_crop(img, p["box"], pad), ("pii", value, w, h))
            pii_refs.append((k, cid, p["type"], value, entity_key(p)))
            if org is not None:
                ch, tot = _changed_fraction(_crop(img, p["box"], 0), _crop(org, p["box"], 0))
                cov_changed[p["type"]] += ch
                cov_total[p["type"]] += tot
        if org is not None:
            for lb in fr["labels"]:
                a, b = _crop(img, lb["box"], 0), _crop(org, lb["box"], 0)
                ch, tot = _changed_fraction(a, b)
                px_destroyed = tot > 0 and ch / tot > LABEL_DESTROYED_FRACTION
                if px_destroyed and plan_boxes is not None:
                    under_box = any(b["start_s"] - 1e-6 <= t <= b["end_s"] + 1e-6 and _plan_box_on(b, lb["box"])
                                    for b in plan_boxes)
                    label_px_where["under a plan box" if under_box else "re-encoding only"] += 1
                key = ("label", lb["text"], lb["box"][2], lb["box"][3])
                oid = pool.add(_crop(img, lb["box"], pad), key)
                gid = pool.add(_crop(org, lb["box"], pad), key)
                label_refs.append((k, oid, gid, lb["text"], px_destroyed, bool(lb.get("decoy"))))
    # drain the original so that its decoder is closed
    if orig_iter is not None:
        for _ in orig_iter:
            pass
    t_dec = time.perf_counter() - t_dec

    # ---- OCR, de-duplicated and capped ------------------------------------------
    t_ocr = time.perf_counter()
    given = None if ocr_reader is None else (
        list(ocr_reader) if isinstance(ocr_reader, (list, tuple)) else [ocr_reader])
    reader_names = list(readers_named) if given is None else [getattr(r, "name", type(r).__name__) for r in given]
    texts: dict[int, str] = {}
    budget = max_crops if max_crops is not None else 1 << 62
    # PII crops first, round-robin over values so that every value gets looked at
    by_value: dict[str, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for _, cid, _, value, _ in pii_refs:
        if cid not in seen:
            seen.add(cid)
            by_value[value].append(cid)
    order: list[int] = []
    queues = [list(v) for v in by_value.values()]
    while any(queues):
        for q in queues:
            if q:
                order.append(q.pop(0))
    label_order: list[int] = []
    if ocr_labels:
        for _, oid, gid, text, _, _ in label_refs:
            if len(normalize(text)) >= MIN_SCORED_CHARS:
                for cid in (gid, oid):
                    if cid not in seen:
                        seen.add(cid)
                        label_order.append(cid)
    todo = (order + label_order)[: max(0, budget)]
    if todo:
        readers = make_readers(readers_named) if given is None else given
        parts: dict[int, list[str]] = defaultdict(list)
        with _single_thread_torch(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for rd in readers:
                if hasattr(rd, "read_many"):
                    for cid, text in zip(todo, rd.read_many([pool.crops[c] for c in todo]), strict=True):
                        parts[cid].append(text)
                else:
                    for cid in todo:
                        parts[cid].append(_ocr_text(rd, pool.crops[cid]))
        texts = {cid: " | ".join(parts[cid]) for cid in todo}
    t_ocr = time.perf_counter() - t_ocr

    # ---- PII leaks ----------------------------------------------------------------
    types = sorted({r[2] for r in pii_refs} | {p["type"] for f in tframes for p in f["pii"]})
    by_type = {t: {"box_frames": 0, "checked": 0, "leaked": 0} for t in types}
    by_who: dict[str, dict[str, int]] = defaultdict(lambda: {"box_frames": 0, "checked": 0,
                                                               "leaked": 0})
    by_entity: dict[str, dict[str, int]] = defaultdict(lambda: {"box_frames": 0, "checked": 0,
                                                                  "leaked": 0})
    leaked_values: dict[str, int] = defaultdict(int)
    leaked_frames: dict[str, list[int]] = defaultdict(list)
    n_checked = n_leaked = 0
    for k, cid, typ, value, ekey in pii_refs:
        who = ekey.rsplit(" ", 1)[1]
        rows = (by_type[typ], by_who[who], by_entity[ekey])
        for row in rows:
            row["box_frames"] += 1
        if cid not in texts:
            continue
        n_checked += 1
        for row in rows:
            row["checked"] += 1
        if leaks(texts[cid], value):
            n_leaked += 1
            for row in rows:
                row["leaked"] += 1
            leaked_values[f"{typ}:{value}"] += 1
            if len(leaked_frames[f"{typ}:{value}"]) < 5:
                leaked_frames[f"{typ}:{value}"].append(k)
    total_box_frames = sum(len(f["pii"]) for f in tframes)
    pii = {
        "box_frames": total_box_frames,
        "scored": len(pii_refs),
        "checked": n_checked,
        "unchecked": len(pii_refs) - n_checked,
        "skipped_short": n_short,
        "missing_frames_box_frames": total_box_frames - len(pii_refs) - n_short,
        "leaked": n_leaked,
        "leak_rate": round(n_leaked / n_checked, 4) if n_checked else None,
        "by_type": by_type,
        "by_who": dict(by_who),
        "by_entity": dict(sorted(by_entity.items())),
        "leaked_values": dict(sorted(leaked_values.items(), key=lambda kv: -kv[1])),
        "leaked_example_frames": dict(leaked_frames),
        "unique_crops": len({r[1] for r in pii_refs}),
    }

    # ---- coverage and labels ----------------------------------------------------------
    coverage = None
    labels = None
    if original is not None:
        tot = sum(cov_total.values())
        coverage = {
            "fraction": round(sum(cov_changed.values()) / tot, 4) if tot else None,
            "by_type": {t: round(cov_changed[t] / cov_total[t], 4)
                        for t in sorted(cov_total) if cov_total[t]},
        }
        n_lab = len(label_refs)
        destroyed = 0
        by_px = by_ocr = 0
        n_decoys = decoys_destroyed = 0
        for _, oid, gid, text, px, decoy in label_refs:
            ocr_lost = (len(normalize(text)) >= MIN_SCORED_CHARS and gid in texts
                        and oid in texts and leaks(texts[gid], text)
                        and not leaks(texts[oid], text))
            by_px += int(px)
            by_ocr += int(ocr_lost)
            destroyed += int(px or ocr_lost)
            n_decoys += int(decoy)
            decoys_destroyed += int(decoy and (px or ocr_lost))
        labels = {"boxes": n_lab, "destroyed": destroyed,
                  "fraction": round(destroyed / n_lab, 4) if n_lab else None,
                  "destroyed_by_pixels": by_px, "lost_to_ocr": by_ocr,
                  "pixels_changed": dict(label_px_where) if plan_boxes is not None else None,
                  "decoys": n_decoys, "decoys_destroyed": decoys_destroyed}

    # ---- frames / pts ---------------------------------------------------------------
    mism = []
    for i in range(min(len(out_times), len(T))):
        if abs(out_times[i] - T[i]) > 5e-4:
            mism.append({"i": i, "truth_t": float(T[i]), "output_t": out_times[i]})
    frames = {
        "truth": len(T), "output": len(out_times), "matched": len(matched),
        "unmatched_output": unmatched_out,
        "count_equal": len(out_times) == len(T),
        "pts_equal": len(out_times) == len(T) and not mism,
        "n_pts_mismatches": len(mism), "pts_mismatches": mism[:20],
    }
    video = {"width": size[0] if size else None, "height": size[1] if size else None,
             "size_equal": size == (truth["width"], truth["height"])}

    # ---- audio -----------------------------------------------------------------------
    t_aud = time.perf_counter()
    ta = truth.get("audio")
    spans = truth.get("audio_spans") or []
    out_a = _audio(output_video, want_pcm=original is not None and bool(spans or truth.get("speech")))
    audio: dict[str, Any] = {"present": out_a.present, "truth": ta}
    if ta is None:
        audio["note"] = "truth has no audio"
    elif not out_a.present:
        audio["note"] = "output has no audio stream"
        audio.update(format_equal=False, length_ok=False)
    else:
        audio.update(sample_rate=out_a.sample_rate, channels=out_a.channels,
                     n_samples=out_a.n_samples,
                     format_equal=(out_a.sample_rate == ta["sample_rate"]
                                   and out_a.channels == ta["channels"]),
                     length_ok=abs(out_a.n_samples - ta["n_samples"]) <= AAC_FRAME)
        speech = truth.get("speech")
        if original is None:
            audio["note"] = "span survival needs --original; skipped"
        elif spans or speech:
            org_a = _audio(Path(original), want_pcm=True)
            if speech:  # older truth files have no utterance list
                audio["speech_kept"] = speech_kept(org_a.mono16k, out_a.mono16k, speech)
            details = []
            by_t: dict[str, dict[str, int]] = defaultdict(lambda: {"spans": 0, "survived": 0})
            by_e: dict[str, dict[str, int]] = defaultdict(lambda: {"spans": 0, "survived": 0})
            for sp in spans:
                r = _span_survival(org_a.mono16k, out_a.mono16k, sp["start_s"], sp["end_s"])
                for row in (by_t[sp["type"]], by_e[entity_key(sp)]):
                    row["spans"] += 1
                    row["survived"] += int(r["survived"])
                details.append({"type": sp["type"], "entity": entity_key(sp), "value": sp["value"],
                                "start_s": sp["start_s"], "end_s": sp["end_s"], **r})
            audio.update(spans=len(spans), survived=sum(d["survived"] for d in details),
                         by_type=dict(by_t), by_entity=dict(sorted(by_e.items())),
                         span_details=details)
    t_aud = time.perf_counter() - t_aud

    return {
        "truth": str(truth_path), "output": str(output_video),
        "original": str(original) if original is not None else None,
        "frames": frames, "video": video, "pii": pii, "coverage": coverage, "labels": labels,
        "audio": audio,
        "ocr": {"calls": len(texts), "max_crops": max_crops,
                "readers": reader_names, "pii_unique_crops": len(order),
                "label_unique_crops": len(label_order)},
        "timing_s": {"decode": round(t_dec, 2), "ocr": round(t_ocr, 2), "audio": round(t_aud, 2),
                     "total": round(time.perf_counter() - t_start, 2)},
    }


def format_report(r: dict[str, Any]) -> str:
    lines = [f"output: {r['output']}", f"truth:  {r['truth']}"]
    if r["original"]:
        lines.append(f"original: {r['original']}")
    fr = r["frames"]
    lines.append(f"frames: truth {fr['truth']}  output {fr['output']}  matched {fr['matched']}  "
                 f"pts equal: {'yes' if fr['pts_equal'] else 'NO'}"
                 + (f" ({fr['n_pts_mismatches']} mismatches)" if fr["n_pts_mismatches"] else ""))
    p = r["pii"]
    rate = "-" if p["leak_rate"] is None else f"{100 * p['leak_rate']:.1f}%"
    lines.append(f"PII box-frames: {p['box_frames']}  checked {p['checked']}  "
                 f"unchecked {p['unchecked']}  LEAKED {p['leaked']} ({rate})")
    lines.append(f"  {'type':<16}{'box-frames':>11}{'checked':>9}{'leaked':>8}")
    for t, d in p["by_type"].items():
        lines.append(f"  {t:<16}{d['box_frames']:>11}{d['checked']:>9}{d['leaked']:>8}")
    for v, n in list(p["leaked_values"].items())[:10]:
        lines.append(f"  leaked: {v} x{n}")
    if r["coverage"]:
        c = r["coverage"]
        lines.append(f"coverage of PII pixels: {c['fraction']}  "
                     + "  ".join(f"{t}={v}" for t, v in c["by_type"].items()))
    if r["labels"]:
        lb = r["labels"]
        lines.append(f"labels destroyed: {lb['destroyed']}/{lb['boxes']} ({lb['fraction']})")
    a = r["audio"]
    if a.get("truth"):
        if a.get("present"):
            lines.append(f"audio: {a.get('sample_rate')} Hz x{a.get('channels')} "
                         f"{a.get('n_samples')} samples (truth {a['truth']['n_samples']}); "
                         f"format equal: {a.get('format_equal')}  length ok: {a.get('length_ok')}")
        kept = (a.get("speech_kept") or {}).get("all")
        if kept:
            lines.append(f"ordinary speech kept: {kept['kept_s']}/{kept['speech_s']} s ({kept['share']})")
        if "spans" in a:
            lines.append(f"audio PII spans surviving: {a['survived']}/{a['spans']}")
            for d in a["span_details"]:
                flag = "SURVIVES" if d["survived"] else "ok"
                lines.append(f"  {d['type']:<14}{d['start_s']:>8.2f}-{d['end_s']:<8.2f}"
                             f"{d['fraction']:>7.2f}  {flag}")
    if a.get("note"):
        lines.append(f"audio note: {a['note']}")
    lines.append(f"timing: {r['timing_s']}  ocr calls: {r['ocr']['calls']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.score",
                                 description="Score an anonymized recording against its truth.")
    ap.add_argument("truth", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--original", type=Path, default=None,
                    help="the un-anonymized recording (enables coverage, labels and audio spans)")
    ap.add_argument("--max-crops", type=int, default=None)
    ap.add_argument("--no-label-ocr", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the full result as JSON")
    ap.add_argument("--readers", default=",".join(READERS),
                    help="comma-separated readers; a leak seen by any counts (default: %(default)s)")
    a = ap.parse_args(argv)
    r = score(a.truth, a.output, original=a.original, max_crops=a.max_crops,
              ocr_labels=not a.no_label_ocr, readers_named=tuple(a.readers.split(",")))
    print(json.dumps(r, indent=2, ensure_ascii=False) if a.json else format_report(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
