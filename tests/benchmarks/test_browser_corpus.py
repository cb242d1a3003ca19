"""The browser corpus generator (benchmarks/browser_corpus.py) and the scorer's Tesseract reader:
a short recording drawn by Debian's chromium, its DOM truth checked against the decoded
pixels and against Tesseract, which the product never uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from benchmarks import browser_corpus as bc
from benchmarks import score
from benchmarks.corpus import RecordingPaths
from benchmarks.review_screenshot import CHROMEDRIVER, CHROMIUM

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromedriver")

LOOK = bc.Look(lang="fr", theme="dark", family="Liberation Serif", font_px=14, width=1280, height=720,
               fps=5.0, crf=23)


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> RecordingPaths:
    # 30 s at 5 fps: the timeline's every view (search, record tabs, history, modal, pop-up)
    return bc.generate(tmp_path_factory.mktemp("browser"), seed=3, duration_s=30.0, look=LOOK, audio=False)


@pytest.fixture(scope="module")
def truth(rec: RecordingPaths) -> dict[str, Any]:
    return json.loads(rec.truth.read_text(encoding="utf-8"))


def _frames(video: Path) -> list[np.ndarray]:
    with av.open(str(video)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_schema_split_and_business_window(rec: RecordingPaths, truth: dict[str, Any]) -> None:
    assert truth["generator"] == "browser" and truth["split"] == "dev" and truth["seed"] == 3
    assert (truth["width"], truth["height"], truth["fps"]) == (1280, 720, 5.0)
    assert len(truth["frames"]) == truth["n_frames"] == 150
    # each distinct page state is photographed once, not every frame
    assert 10 < truth["n_screenshots"] < truth["n_frames"]
    x, y, w, h = truth["business_window"]
    side = json.loads(rec.sidecar.read_text(encoding="utf-8"))["windows"]
    assert side == [{"x": x, "y": y, "w": w, "h": h, "start_s": 0.0, "end_s": None}] and w < 1280
    outside = [p for f in truth["frames"] for p in f["pii"] if p.get("outside")]
    inside = [p for f in truth["frames"] for p in f["pii"] if not p.get("outside")]
    assert outside and inside
    assert all(p["box"][0] >= w for p in outside)
    assert all(p["box"][0] + p["box"][2] <= w for p in inside)


def test_every_view_of_the_script_is_drawn(truth: dict[str, Any]) -> None:
    types = {p["type"] for f in truth["frames"] for p in f["pii"]}
    assert {"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "ADDRESS", "DATE_OF_BIRTH", "IBAN_CODE",
            "CREDIT_CARD", "FR_NIR", "CUSTOMER_ID", "CONTRACT_ID", "EMPLOYEE_ID", "EXTENSION"} <= types
    who = {p["who"] for f in truth["frames"] for p in f["pii"]}
    assert who == {"agent", "colleague", "customer"}
    # the results list names many customers at once; the history names colleagues
    most = max(sum(p["type"] == "PERSON" and p["who"] == "customer" for p in f["pii"]) for f in truth["frames"])
    assert most >= 8
    # typing: the search box's prefix grows; the history scrolls (rows partly clipped)
    assert any(p.get("partial") for f in truth["frames"] for p in f["pii"])
    labels = {lb["text"] for f in truth["frames"] for lb in f["labels"]}
    assert {"Synthèse", "Contrats", "Historique", "Identité", "Coordonnées"} <= labels


def test_boxes_lie_on_ink_inside_the_frame(rec: RecordingPaths, truth: dict[str, Any]) -> None:
    frames = _frames(rec.video)
    assert len(frames) == truth["n_frames"]
    for k in (20, 70, 120):
        img = frames[k].astype(np.int16)
        for p in truth["frames"][k]["pii"]:
            x, y, w, h = p["box"]
            assert x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720
            if p.get("partial") or w < 8:
                continue
            crop = img[y:y + h, x:x + w].max(axis=2)
            assert crop.max() - crop.min() > 60, (k, p)  # text, not an empty background


def test_tesseract_reads_the_truth_and_not_a_black_box(rec: RecordingPaths, truth: dict[str, Any]) -> None:
    frames = _frames(rec.video)
    reader = score.TesseractReader()
    k = 90
    items = [p for p in truth["frames"][k]["pii"] if not p.get("partial") and len(p["value"]) >= 5][:12]
    assert len(items) >= 6
    texts = reader.read_many([score._crop(frames[k], p["box"], 4) for p in items])
    read = sum(score.leaks(t, p["value"]) for t, p in zip(texts, items, strict=True))
    assert read >= 0.8 * len(items), list(zip(texts, [p["value"] for p in items], strict=True))
    blank = frames[k].copy()
    for p in items:
        x, y, w, h = p["box"]
        blank[max(0, y - 4):y + h + 4, max(0, x - 4):x + w + 4] = 0
    texts = reader.read_many([score._crop(blank, p["box"], 4) for p in items])
    assert not any(score.leaks(t, p["value"]) for t, p in zip(texts, items, strict=True))


def test_seeds_and_looks() -> None:
    assert bc.seeds(3, held_out=True) == [bc.HELD_OUT_FROM, bc.HELD_OUT_FROM + 1, bc.HELD_OUT_FROM + 2]
    assert all(s < bc.HELD_OUT_FROM for s in bc.seeds(5, held_out=False))
    with pytest.raises(ValueError):
        bc.seeds(2, held_out=False, start=bc.HELD_OUT_FROM - 1)
    looks = [bc.look_for(s) for s in range(16)]
    assert looks[5] == bc.look_for(5)
    assert {lk.lang for lk in looks} == {"fr", "en"} and {lk.theme for lk in looks} == {"light", "dark"}
    assert {lk.height for lk in looks} == {720, 1080} and len({lk.family for lk in looks}) >= 4
    assert all(11 <= lk.font_px <= 20 and 18 <= lk.crf <= 28 and 5 <= lk.fps <= 15 for lk in looks)
