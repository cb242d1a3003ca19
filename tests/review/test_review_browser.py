"""The review page in Debian's headless chromium (selenium, its own chromedriver, nothing
downloaded): it draws, a click un-hides a box, a drag adds a rectangle, the inputs add a
bleep, the overrides read back as the file ``render --overrides`` takes, and the browser
made no network request at all (Chrome's performance log: only the file:// page itself
and data:/blob: URIs). :func:`save_overrides` writes them to a file for a chained render."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anonymizer._cli.review import review_after_run
from benchmarks.review_screenshot import CHROMEDRIVER, CHROMIUM, chrome
from tests.review.conftest import Run

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromedriver")


def save_overrides(driver: Any, path: Path) -> Path:
    """Write the page's current overrides (as its Download button would) to ``path``."""
    path.write_text(json.dumps(driver.execute_script("return window.anonymizerOverrides()"), indent=1) + "\n")
    return path


@pytest.fixture(scope="module")
def browser(review_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    html = review_after_run(review_run.report, tmp_path_factory.mktemp("browser") / "review.html")
    driver = chrome(width=1400, height=1000, performance_log=True)
    try:
        driver.get(html.as_uri())
        deadline = time.monotonic() + 20
        while driver.execute_script("return document.body.dataset.ready") != "1":
            assert time.monotonic() < deadline, "the page did not finish drawing"
            time.sleep(0.1)
        yield driver
    finally:
        driver.quit()


def _clickable_box(driver: Any) -> int:
    """Index of a box that is on top at its own centre (overlapping boxes hide others)."""
    idx = driver.execute_script("""
      for (const b of document.querySelectorAll('.box[data-index]')) {
        const r = b.getBoundingClientRect(); if (r.width < 4 || r.height < 4) continue;
        b.scrollIntoView({block: 'center'}); const q = b.getBoundingClientRect();
        if (document.elementFromPoint(q.left + q.width / 2, q.top + q.height / 2) === b) return Number(b.dataset.index);
      }
      return -1;""")
    assert idx >= 0
    return int(idx)


def _empty_point(driver: Any) -> tuple[Any, int, int]:
    """A key frame and an offset from its centre where a 40x20 px drag touches no box."""
    found = driver.execute_script("""
      const frames = [...document.querySelectorAll('.frame')];
      for (let n = 0; n < frames.length; n++) {
        const f = frames[n]; f.scrollIntoView({block: 'center'}); const r = f.getBoundingClientRect();
        for (let y = r.top + 10; y < r.bottom - 30; y += 7) for (let x = r.left + 10; x < r.right - 50; x += 7) {
          let ok = true;
          for (const [dx, dy] of [[0, 0], [40, 0], [0, 20], [40, 20], [20, 10]])
            if (document.elementFromPoint(x + dx, y + dy) !== f) { ok = false; break; }
          if (ok) return [n, Math.round(x - (r.left + r.width / 2)), Math.round(y - (r.top + r.height / 2))];
        }
      }
      return null;""")
    assert found is not None
    n, dx, dy = found
    return driver.find_elements("css selector", ".frame")[n], int(dx), int(dy)


def test_page_draws(browser: Any, review_run: Run) -> None:
    assert browser.find_element("id", "timeline").is_displayed()
    assert len(browser.find_elements("css selector", "#timeline svg rect.tl-box")) == len(json.loads(review_run.plan.read_text())["boxes"])
    assert browser.find_elements("css selector", "#timeline svg rect.tl-span")
    assert len(browser.find_elements("css selector", ".keyframe")) >= 1
    assert browser.find_elements("css selector", ".keyframe .box[data-index]")
    assert browser.find_element("id", "waveform").is_displayed()
    assert "mean share of the frame hidden" in browser.find_element("id", "headline").text.lower()
    for entry in browser.get_log("browser"):
        assert entry["level"] != "SEVERE", entry


def test_corrections_become_overrides(browser: Any, review_run: Run, tmp_path: Path) -> None:
    from selenium.webdriver import ActionChains

    plan = json.loads(review_run.plan.read_text())
    idx = _clickable_box(browser)
    browser.find_element("css selector", f".box[data-index='{idx}']").click()
    assert "unhidden" in browser.find_element("css selector", f".box[data-index='{idx}']").get_attribute("class")
    browser.find_element("css selector", ".ov-box input.reason").send_keys("label of a form, not a value")
    value_hash = plan["boxes"][idx]["value_hash"]
    if value_hash:
        browser.find_element("id", "unhide-value").click()
        browser.find_element("css selector", ".ov-value input.reason").send_keys("consented")

    frame, dx, dy = _empty_point(browser)
    scale = plan["width"] / frame.size["width"]
    ActionChains(browser).move_to_element_with_offset(frame, dx, dy).click_and_hold().move_by_offset(40, 20).release().perform()
    t0 = float(frame.get_attribute("data-t"))

    for field, text in (("bl-start", "0.2"), ("bl-end", "0.6"), ("bl-reason", "a name said twice")):
        box = browser.find_element("id", field)
        box.clear()
        box.send_keys(text)
    browser.find_element("id", "bl-add").click()
    browser.find_element("id", "reviewer").send_keys("rita")

    ov = browser.execute_script("return window.anonymizerOverrides()")
    assert ov == json.loads(browser.execute_script("return document.getElementById('overrides-json').textContent"))
    assert ov["version"] == 1 and ov["reviewer"] == "rita"
    assert ov["plan_sha256"] == hashlib.sha256(review_run.plan.read_bytes()).hexdigest()
    assert ov["unhide_boxes"] == [{"box": idx, "reason": "label of a form, not a value"}]
    assert ov["unhide_values"] == ([{"value_hash": value_hash, "reason": "consented"}] if value_hash else [])
    assert ov["add_bleeps"] == [{"start_s": 0.2, "end_s": 0.6, "reason": "a name said twice"}]
    [added] = ov["add_boxes"]
    assert set(added) == {"x", "y", "w", "h", "start_s", "end_s", "reason"}
    assert all(isinstance(added[k], int) for k in "xywh")
    assert added["w"] == pytest.approx(40 * scale, abs=2.5) and added["h"] == pytest.approx(20 * scale, abs=2.5)
    assert 0 <= added["x"] and added["x"] + added["w"] <= plan["width"] and added["y"] + added["h"] <= plan["height"]
    assert added["start_s"] == pytest.approx(t0) and added["end_s"] > added["start_s"]

    saved = save_overrides(browser, tmp_path / "overrides.json")
    assert json.loads(saved.read_text()) == ov
    browser.find_element("id", "download").click()  # a blob: URL, never a request


def test_page_refuses_what_render_would(browser: Any, review_run: Run) -> None:
    """Empty, reversed, out-of-range and overlapping bleeps, and rectangles outside the
    frame, are refused with a visible message instead of ending in ``render``'s exit 2."""
    plan = json.loads(review_run.plan.read_text())
    end = browser.execute_script("return JSON.parse(document.getElementById('review-data').textContent).end_limit_s")
    before = browser.execute_script("return window.anonymizerOverrides()")

    def fill(button: str, **values: object) -> str:
        for field, text in values.items():
            box = browser.find_element("id", field.replace("_", "-"))
            box.clear()
            box.send_keys(str(text))
        browser.find_element("id", button).click()
        error = browser.find_element("id", "form-error")
        return str(error.text) if error.is_displayed() else ""

    assert fill("bl-add", bl_start=2.0, bl_end=2.4) == ""
    assert "end 1 s must be after start 1 s" in fill("bl-add", bl_start=1, bl_end=1)
    assert "past the recording's end" in fill("bl-add", bl_start=1, bl_end=end + 1)
    assert "overlaps the bleep 2–2.4 s" in fill("bl-add", bl_start=2.2, bl_end=2.6)
    assert "must be positive" in fill("ab-add", ab_x=0, ab_y=0, ab_w=0, ab_h=10, ab_start=0, ab_end=1)
    assert "outside the" in fill("ab-add", ab_x=plan["width"] - 5, ab_w=10, ab_h=10)
    assert "must be after start" in fill("ab-add", ab_x=0, ab_start=1, ab_end=0.5)
    assert "past the recording's end" in fill("ab-add", ab_start=0, ab_end=end + 1)
    ov = browser.execute_script("return window.anonymizerOverrides()")
    assert ov["add_boxes"] == before["add_boxes"]
    assert [(b["start_s"], b["end_s"]) for b in ov["add_bleeps"]] == [*((b["start_s"], b["end_s"]) for b in before["add_bleeps"]),
                                                                     (2.0, 2.4)]
    browser.find_elements("css selector", ".ov-add-bleep button.remove")[-1].click()  # as it was
    assert browser.execute_script("return window.anonymizerOverrides()")["add_bleeps"] == before["add_bleeps"]


def test_no_network_request(browser: Any) -> None:
    """Runs last: every request the page made since it was opened."""
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            urls.append(msg["params"].get("request", {}).get("url") or msg["params"].get("url", ""))
    assert urls and urls[0].startswith("file://")
    assert [u for u in urls if u.startswith("file://")] == urls[:1]
    assert all(u.startswith(("file://", "data:", "blob:")) for u in urls), urls


def test_page_overrides_render_changes_only_what_was_asked(browser: Any, review_run: Run, tmp_path: Path) -> None:
    """The chain: the page's overrides file, applied by ``anonymizer.rerender``, changes the
    output's pixels inside the added rectangle during its time range, and nowhere else."""
    import numpy as np

    from anonymizer import pipeline
    from anonymizer.config import load_config
    from anonymizer.media import iter_frames
    from anonymizer.rerender import rerender
    from tests.batch.fakes import DeafTranscriber, FastOcr

    browser.execute_script("document.querySelectorAll('.ov button.remove').forEach(b => b.click())")  # start afresh
    browser.execute_script("document.querySelectorAll('.ov button.remove').forEach(b => b.click())")
    plan = json.loads(review_run.plan.read_text())
    x, y, w, h = 8, plan["height"] - 40, 60, 30
    for field, text in (("ab-x", x), ("ab-y", y), ("ab-w", w), ("ab-h", h), ("ab-start", "1"), ("ab-end", "2"),
                        ("ab-reason", "a sticky note with a name")):
        box = browser.find_element("id", field)
        box.clear()
        box.send_keys(str(text))
    browser.find_element("id", "ab-add").click()
    browser.find_element("id", "reviewer").send_keys("rita")
    ov = save_overrides(browser, tmp_path / "overrides.json")
    assert json.loads(ov.read_text())["add_boxes"] == [{"x": x, "y": y, "w": w, "h": h, "start_s": 1.0, "end_s": 2.0,
                                                       "reason": "a sticky note with a name"}]
    cfg = load_config(review_run.deployment.policy)
    out = tmp_path / "call.anon.mp4"
    rerender(review_run.recording.video, review_run.plan, ov, out, cfg, roster=review_run.recording.roster,
             sidecar=review_run.recording.sidecar, models=pipeline.Models(ocr=FastOcr(), transcriber=DeafTranscriber()))
    inside = np.zeros((plan["height"], plan["width"]), bool)
    inside[y:y + h, x:x + w] = True
    changed_in, changed_out = [], 0
    for a, b in zip(iter_frames(review_run.output), iter_frames(out), strict=True):
        diff = np.abs(a.rgb().astype(int) - b.rgb().astype(int)).max(axis=2) > 40
        if 1.0 - 1e-6 <= a.t <= 2.0 + 1e-6:
            changed_in.append(diff[inside].mean())
            changed_out += int((diff & ~inside).sum())
        else:
            changed_out += int(diff.sum())
    assert changed_in and min(changed_in) > 0.1  # the fill differs from the screen under it (the rest was already hidden)
    assert changed_out < 0.002 * plan["width"] * plan["height"]  # codec noise only
