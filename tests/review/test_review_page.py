"""``anonymizer review`` without a browser: the page is self-contained and holds no value,
its figures are right (pure functions, on small plans), bad inputs write nothing, and
``--with-original`` is decided by the deployment and audited like ``export``."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from anonymizer import review
from anonymizer._cli import cli
from anonymizer._cli.review import review_after_run
from anonymizer.plan import AudioSpan, Plan, PlanBox, Window
from tests.review.conftest import Run


def invoke(*args: object, caller: str | None = None) -> Result:
    env = {} if caller is None else {"SUDO_USER": caller}
    return CliRunner(env=env).invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def page(review_run: Run, tmp_path_factory: pytest.TempPathFactory) -> str:
    html = review_after_run(review_run.report, tmp_path_factory.mktemp("page") / "review.html")
    return html.read_text()


def _data(text: str) -> dict:  # type: ignore[type-arg]
    m = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', text, re.S)
    assert m is not None
    return json.loads(m.group(1))  # type: ignore[no-any-return]


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ---------------------------------------------------------------- the default page


def test_page_loads_nothing_from_anywhere(page: str) -> None:
    assert f'<meta http-equiv="Content-Security-Policy" content="{review.CSP}">' in page.replace("&#x27;", "'")
    assert page.index("Content-Security-Policy") < page.index("<style>") < page.index("<script")
    assert not re.search(r"https?://", page, re.I)
    assert not re.search(r"""\b(?:src|href|action|poster)\s*=\s*["']?(?!data:)""", page, re.I)
    assert not re.search(r"<link|<iframe|<object|<embed|@import|fetch\(|XMLHttpRequest|WebSocket|EventSource", page, re.I)
    assert "url(" not in page  # CSS; the script's URL.createObjectURL (the download's blob:) is no fetch
    data = _data(page)
    assert data["keyframes"] and all(k["src"].startswith("data:image/jpeg;base64,") for k in data["keyframes"])
    for attr in ('id="timeline"', 'id="waveform"', 'id="headline"', 'id="download"', 'id="overrides-json"', "anonymizerOverrides"):
        assert attr in page
    assert len(page) < 3_000_000


def test_page_holds_no_personal_value(page: str, review_run: Run) -> None:
    plan = json.loads(review_run.plan.read_text())
    assert plan["boxes"] and plan["audio_spans"]  # the fixture hid something on screen and in the audio
    text = re.sub(r"data:[a-z/]+;base64,[A-Za-z0-9+/=]+", "", page)  # random base64 may hold any short string
    for value in review_run.values:
        assert value not in text, value
        if len(value) >= 8:
            assert value not in page, value
    data = _data(page)
    assert not data["with_original"] and all("originals" not in k for k in data["keyframes"])


def test_page_data_matches_the_plan(page: str, review_run: Run) -> None:
    plan = Plan.from_json(review_run.plan.read_text())
    data = _data(page)
    assert data["plan_sha256"] == review.hashlib.sha256(review_run.plan.read_bytes()).hexdigest()
    assert len(data["boxes"]) == len(plan.boxes) and len(data["spans"]) == len(plan.audio_spans)
    for row, b in zip(data["boxes"], plan.boxes, strict=True):
        assert row[:4] == [b.x, b.y, b.w, b.h] and data["types"][row[6]] == b.type and data["hashes"][row[8]] == b.value_hash
    for k in data["keyframes"]:
        assert k["boxes"] == [i for i, b in enumerate(plan.boxes) if b.active(k["t"])]
    assert data["wave"] is not None and len(data["wave"]["min"]) == len(data["wave"]["max"]) > 100
    h = data["headline"]
    assert h["spans"] == 1 and h["distinct"]["PHONE_NUMBER"]["audio"] == 1
    assert 0 < h["mean_hidden"] < 1 and 0 < h["bleeped_of_speech"] <= 1


def test_cli_writes_the_page_next_to_the_report(review_run: Run, tmp_path: Path) -> None:
    for name in ("call.anon.mp4", "call.anon.plan.json", "call.anon.report.json"):
        shutil.copy2(review_run.output.parent / name, tmp_path / name)
    res = invoke("review", tmp_path / "call.anon.report.json")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "call.anon.review.html").is_file() and "review page:" in res.output
    assert _files(tmp_path) == {"call.anon.mp4", "call.anon.plan.json", "call.anon.report.json", "call.anon.review.html"}


# ---------------------------------------------------------------- figures


def _plan(boxes: list[PlanBox], spans: list[AudioSpan] | None = None, windows: list[Window] | None = None) -> Plan:
    return Plan(input_sha256="a" * 64, width=100, height=50, duration_s=9.9, config_sha256="c" * 64, style="fill",
                boxes=boxes, audio_spans=spans or [], windows=windows or [])


def test_hidden_share_counts_overlaps_once() -> None:
    plan = _plan([PlanBox(0, 0, 10, 10, 0.0, 0.9, "PERSON", value_hash="h1"),
                  PlanBox(5, 0, 10, 10, 0.0, 0.4, "PERSON", value_hash="h1"),  # overlaps the first by 50 px
                  PlanBox(95, 45, 20, 20, 0.5, 0.9, "EMAIL_ADDRESS", value_hash="h2")])  # clipped to 5x5
    assert review.hidden_fraction(plan, 0.0) == pytest.approx(150 / 5000)
    assert review.hidden_fraction(plan, 0.5) == pytest.approx(125 / 5000)
    assert review.hidden_fraction(plan, 1.0) == 0.0
    times = [i / 10 for i in range(20)]  # 5 frames at 150, 5 at 125, 10 at 0
    assert review.mean_hidden_fraction(plan, times) == pytest.approx((5 * 150 + 5 * 125) / 5000 / 20)


def test_hidden_share_counts_what_lies_outside_the_windows() -> None:
    plan = _plan([PlanBox(0, 0, 10, 10, 0.0, 9.9, "PERSON")], windows=[Window(0, 0, 50, 50, 0.0, 4.9)])
    assert review.hidden_fraction(plan, 1.0) == pytest.approx(1 - (2500 - 100) / 5000)
    assert review.hidden_fraction(plan, 6.0) == 1.0  # no window active: the frame is black


def test_bleeps_and_speech_share() -> None:
    spans = [AudioSpan(1.0, 2.0, "PHONE_NUMBER"), AudioSpan(1.5, 3.0, "PERSON"), AudioSpan(8.0, 12.0, "PERSON")]
    assert review.bleeped_seconds(spans) == pytest.approx(6.0)
    assert review.bleeped_seconds(spans, start_s=0.0, end_s=10.0) == pytest.approx(4.0)
    rms = np.zeros(100, np.float32)  # 0.1 s frames over 10 s
    rms[10:30] = 0.5  # 1..3 s: the bleeps
    rms[50:70] = 0.3  # 5..7 s: speech left as it was
    share = review.speech_bleeped_share(rms, 0.1, spans[:2])
    assert share == pytest.approx(20 / 40)
    assert review.speech_bleeped_share(np.zeros(10, np.float32), 0.1, []) is None


def test_distinct_values_per_type() -> None:
    plan = _plan([PlanBox(0, 0, 1, 1, 0, 1, "PERSON", value_hash="a"), PlanBox(0, 0, 1, 1, 2, 3, "PERSON", value_hash="a"),
                  PlanBox(0, 0, 1, 1, 0, 1, "PERSON", value_hash="b"), PlanBox(0, 0, 1, 1, 0, 1, "FIELD")],
                 [AudioSpan(0, 1, "PERSON", value_hash="a"), AudioSpan(0, 1, "PERSON", value_hash="c")])
    assert review.distinct_values(plan) == {"FIELD": {"screen": 0, "audio": 0, "all": 0, "unnamed": 1},
                                            "PERSON": {"screen": 2, "audio": 2, "all": 3, "unnamed": 0}}


def test_keyframes_follow_changes_and_are_capped() -> None:
    boxes = [PlanBox(0, 0, 1, 1, 1.0, 2.0, "PERSON"), PlanBox(0, 0, 1, 1, 1.0, 5.0, "PERSON")]
    assert review.keyframe_times(boxes, 9.9) == [1.0, 2.1, 5.1]
    assert review.keyframe_times([], 8.0) == [1.0, 3.0, 5.0, 7.0]
    many = [PlanBox(0, 0, 1, 1, t / 10, t / 10, "PERSON") for t in range(100)]  # a change every frame
    many += [PlanBox(0, 0, 1, 1, 5.0, 5.0, "PERSON") for _ in range(5)]  # the largest change
    times = review.keyframe_times(many, 9.9, max_frames=8)
    assert len(times) == 8 and 5.0 in times
    assert min(times) < 1.3 and max(times) > 8.6  # the whole call is covered


def test_verification_rows_and_envelope() -> None:
    rows = dict(review.verification_summary({"verification": {"enabled": True, "frames": 30, "words": 4, "problems": []}}))
    assert rows == {"frames re-read": "30", "words re-heard": "4", "problems found": "0"}
    assert review.verification_summary({}) == [("verification", "not recorded in the report")]
    lo, hi = review.envelope(np.array([0, 1, -1, 0.5, 0.2, -0.3], np.float32), 3)
    assert lo.tolist() == pytest.approx([0, -1, -0.3]) and hi.tolist() == pytest.approx([1, 0.5, 0.2])


# ---------------------------------------------------------------- bad input


@pytest.fixture
def copied(review_run: Run, tmp_path: Path) -> Path:
    for p in (review_run.output, review_run.plan, review_run.report):
        shutil.copy2(p, tmp_path / p.name)
    return tmp_path / review_run.report.name


def _edit(path: Path, fn: object) -> None:
    data = json.loads(path.read_text())
    fn(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("damage", "words"), [
    (lambda r: r.unlink(), "report not found"),
    (lambda r: r.write_text("{not json"), "not readable JSON"),
    (lambda r: _edit(r, lambda d: d["output"].update(sha256="0" * 64)), "sha256 differs"),
    (lambda r: _edit(r, lambda d: d.update(status="quarantined")), "not 'published'"),
    (lambda r: _edit(r, lambda d: d.update(config_sha256="0" * 64)), "plan does not belong"),
    (lambda r: (r.parent / "call.anon.plan.json").write_text('{"version": 1, "boxes": "x"}'), "not a valid plan"),
    (lambda r: (r.parent / "call.anon.mp4").write_bytes(b"edited"), "sha256 differs"),
])
def test_bad_input_is_refused_and_nothing_written(copied: Path, damage: object, words: str) -> None:
    damage(copied)  # type: ignore[operator]
    before = _files(copied.parent)
    res = invoke("review", copied, "-o", copied.parent / "page.html")
    assert res.exit_code == 3, res.output
    assert res.output.startswith("anonymizer: error: ") and words in res.output and "Traceback" not in res.output
    assert _files(copied.parent) == before


# ---------------------------------------------------------------- --with-original


def _records(log: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize(("caller", "rule"), [("alice", "role"), ("dave", "not_team"), ("mallory", "unknown_user")])
def test_with_original_refused_without_the_right(review_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caller: str, rule: str) -> None:
    monkeypatch.setenv("ANONYMIZER_POLICY", str(review_run.deployment.policy))
    n = len(_records(review_run.deployment.log))
    html = tmp_path / "page.html"
    res = invoke("review", review_run.report, "-o", html, "--with-original", "--original", review_run.recording.video,
                 caller=caller)
    assert res.exit_code == 6, res.output
    assert f"refused by policy rule {rule!r}" in res.output
    assert not html.exists() and _files(tmp_path) == set()
    rec = _records(review_run.deployment.log)[n:]
    assert [(r["event"], r["decision"], r["user"], r["rule"]) for r in rec] == [("review-original", "refused", caller, rule)]


def test_with_original_needs_the_deployment(review_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_POLICY", str(tmp_path / "nowhere" / "policy.toml"))
    res = invoke("review", review_run.report, "-o", tmp_path / "p.html", "--with-original", caller="bob")
    assert res.exit_code == 2 and "policy file not found" in res.output
    assert _files(tmp_path) == set()


def test_with_original_wrong_file_is_refused(review_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_POLICY", str(review_run.deployment.policy))
    res = invoke("review", review_run.report, "-o", tmp_path / "p.html", "--with-original", "--original", review_run.output,
                 caller="bob")
    assert res.exit_code == 3 and "not the original of this run" in res.output
    assert not (tmp_path / "p.html").exists()


def test_with_original_allowed_is_audited(review_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_POLICY", str(review_run.deployment.policy))
    n = len(_records(review_run.deployment.log))
    html = tmp_path / "page.html"
    res = invoke("review", review_run.report, "-o", html, "--with-original", caller="bob")  # the original found by the report
    assert res.exit_code == 0, res.output
    rec = _records(review_run.deployment.log)[n:]
    assert len(rec) == 1
    r = rec[0]
    assert (r["event"], r["decision"], r["user"], r["role"], r["rule"]) == ("review-original", "allowed", "bob", "trainer", "team")
    assert r["sha256"] == json.loads(review_run.report.read_text())["input"]["sha256"]
    assert Path(r["file"]).resolve() == review_run.recording.video.resolve()
    assert html.stat().st_mode & 0o777 == 0o600
    data = _data(html.read_text())
    assert data["with_original"]
    crops = [u for k in data["keyframes"] for u in k.get("originals", {}).values()]
    assert crops and all(u.startswith("data:image/jpeg;base64,") for u in crops)


# ---------------------------------------------------------------- what the page may not hold or overwrite


def test_default_page_names_no_file(review_run: Run, tmp_path: Path) -> None:
    """A site naming its calls after the customer: the default page shows the output's
    sha256, never its name; --with-original may."""
    named = tmp_path / "Dupont_Jeanne.anon.mp4"
    shutil.copy2(review_run.output, named)
    html = review.write_review(review_run.report, tmp_path / "page.html", output=named)
    text = html.read_text()
    assert "Dupont" not in text and "Jeanne" not in text and "call.anon" not in text
    sha = json.loads(review_run.report.read_text())["output"]["sha256"]
    data = _data(text)
    assert data["label"] == f"call {sha[:12]}" and f"<title>Review: call {sha[:12]}</title>" in text
    assert data["download_name"] == f"call-{sha[:12]}.overrides.json"
    assert "output_name" not in data


def test_report_records_the_plan_sha256(review_run: Run) -> None:
    recorded = json.loads(review_run.report.read_text())["output"]["plan_sha256"]
    assert recorded == review.hashlib.sha256(review_run.plan.read_bytes()).hexdigest()


def test_report_without_plan_sha256_still_reviewed(copied: Path) -> None:
    """Reports written before output.plan_sha256 was recorded: the input and config hashes only."""
    _edit(copied, lambda d: d["output"].pop("plan_sha256"))
    res = invoke("review", copied, "-o", copied.parent / "page.html")
    assert res.exit_code == 0, res.output
    assert (copied.parent / "page.html").is_file()


def test_plan_edited_after_the_run_is_refused(copied: Path) -> None:
    """Still a valid plan of the same input and config, but not the bytes the report names."""
    plan = copied.parent / "call.anon.plan.json"
    data = json.loads(plan.read_text())
    data["boxes"] = data["boxes"][1:]  # a box dropped by hand
    plan.write_text(json.dumps(data))
    before = _files(copied.parent)
    res = invoke("review", copied, "-o", copied.parent / "page.html")
    assert res.exit_code == 3, res.output
    assert "plan is not the one this report describes" in res.output and str(plan) in res.output
    assert _files(copied.parent) == before


LinkFn = Callable[[Path, Path, str], Path]


@pytest.fixture
def link() -> Iterator[LinkFn]:
    """Makes ``link`` a hard or symbolic link to ``target``; removed after the test, so the
    session's run and deployment files are left with one link each."""
    made: list[Path] = []

    def make(target: Path, path: Path, how: str) -> Path:
        if how == "symlink":
            path.symlink_to(target)
        else:
            path.hardlink_to(target)
        made.append(path)
        return path

    yield make
    for path in made:
        path.unlink(missing_ok=True)


def _refused_unchanged(res: Result, target: Path, page: Path, words: str, before: bytes, folder: Path,
                       files: set[str]) -> None:
    assert res.exit_code == 2, res.output
    assert res.output.startswith("anonymizer: error: ") and words in res.output and str(page) in res.output
    assert "Traceback" not in res.output
    assert target.read_bytes() == before
    assert _files(folder) == files


@pytest.mark.parametrize(("name", "what"), [("call.anon.mp4", "output video"), ("call.anon.plan.json", "plan"),
                                            ("call.anon.report.json", "report")])
@pytest.mark.parametrize("how", ["hardlink", "symlink"])
def test_page_never_overwrites_the_run(copied: Path, link: LinkFn, name: str, what: str, how: str) -> None:
    target = copied.parent / name
    before, files = target.read_bytes(), _files(copied.parent)
    page = link(target, copied.parent / "page.html", how)
    res = invoke("review", copied, "-o", page)
    _refused_unchanged(res, target, page, f"would overwrite the {what}", before, copied.parent, files | {"page.html"})


def test_page_path_must_be_html(copied: Path) -> None:
    """The run's own names are refused before anything is compared; so is any other suffix."""
    out = copied.parent / "call.anon.mp4"
    before, files = out.read_bytes(), _files(copied.parent)
    res = invoke("review", copied, "-o", out)
    _refused_unchanged(res, out, out, "must be an .html or .htm file", before, copied.parent, files)
    res = invoke("review", copied, "-o", copied.parent / "page.txt")
    assert res.exit_code == 2 and "must be an .html or .htm file" in res.output
    assert _files(copied.parent) == files
    res = invoke("review", copied, "-o", copied.parent / "page.HTM")
    assert res.exit_code == 0, res.output


def test_page_never_overwrites_the_original(review_run: Run, copied: Path, link: LinkFn) -> None:
    """The recording the report names (found where it says), even without --with-original."""
    target = review_run.recording.video
    before, files = target.read_bytes(), _files(copied.parent)
    page = link(target, copied.parent / "page.html", "hardlink")
    res = invoke("review", copied, "-o", page)
    _refused_unchanged(res, target, page, "would overwrite the original recording", before, copied.parent, files | {"page.html"})


@pytest.mark.parametrize(("which", "what"), [("policy", "policy file"), ("access", "access file"), ("key", "report key"),
                                             ("log", "audit log")])
def test_page_never_overwrites_the_deployment(review_run: Run, copied: Path, link: LinkFn,
                                              monkeypatch: pytest.MonkeyPatch, which: str, what: str) -> None:
    monkeypatch.setenv("ANONYMIZER_POLICY", str(review_run.deployment.policy))
    target = getattr(review_run.deployment, which)
    if not target.exists():
        target.touch(mode=0o600)  # the audit log: made by the first audited attempt
    before, files = target.read_bytes(), _files(copied.parent)
    page = link(target, copied.parent / "page.html", "hardlink")
    res = invoke("review", copied, "-o", page)
    _refused_unchanged(res, target, page, f"would overwrite the {what}", before, copied.parent, files | {"page.html"})


@pytest.mark.parametrize("which", ["original", "log"])
def test_with_original_never_overwrites_and_is_not_audited(review_run: Run, tmp_path: Path, link: LinkFn,
                                                           monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """Refused before the access decision: no page, no audit record, the file intact."""
    monkeypatch.setenv("ANONYMIZER_POLICY", str(review_run.deployment.policy))
    target = review_run.recording.video if which == "original" else review_run.deployment.log
    if not target.exists():
        target.touch(mode=0o600)  # the audit log: made by the first audited attempt
    n = len(_records(review_run.deployment.log))
    before = target.read_bytes()
    page = link(target, tmp_path / "page.html", "hardlink")
    res = invoke("review", review_run.report, "-o", page, "--with-original", caller="bob")
    _refused_unchanged(res, target, page, "would overwrite the", before, tmp_path, {"page.html"})
    assert len(_records(review_run.deployment.log)) == n
