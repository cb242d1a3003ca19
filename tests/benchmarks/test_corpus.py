"""Tests of the synthetic corpus generator and of the scorer (benchmarks/)."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from benchmarks import corpus, score

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

W, H, DUR = 640, 360, 4.0


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> corpus.RecordingPaths:
    out = tmp_path_factory.mktemp("corpus")
    return corpus.generate(out, name="clip", width=W, height=H, duration_s=DUR, seed=1)


@pytest.fixture(scope="module")
def truth(rec: corpus.RecordingPaths) -> dict[str, Any]:
    return json.loads(rec.truth.read_text(encoding="utf-8"))


def _redact(src: Path, dst: Path, truth: dict[str, Any], *, pad: int = 2,
            boxes: bool = True, spans: bool = True, mute: str = "audio_spans") -> None:
    """Copy ``src`` to ``dst`` painting every truth PII box black and zeroing the PII spans
    (``mute="speech"``: every utterance)."""
    times = [f["t"] for f in truth["frames"]]
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vout = out.add_stream("libx264", rate=Fraction(truth["fps"]).limit_denominator(1001))
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.codec_context.time_base = vin.time_base or Fraction(1, 1000)
        vout.codec_context.options = {"crf": "17", "preset": "veryfast"}
        sr = ain.codec_context.sample_rate
        aout = out.add_stream("aac", rate=sr, layout="mono")
        for frame in inp.decode(vin, ain):
            if isinstance(frame, av.VideoFrame):
                t = float((frame.pts or 0) * (frame.time_base or 1))
                k = int(np.argmin([abs(t - x) for x in times]))
                img = frame.to_ndarray(format="rgb24")
                if boxes:
                    for p in truth["frames"][k]["pii"]:
                        x, y, w, h = p["box"]
                        img[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad] = 0
                nf = av.VideoFrame.from_ndarray(img, format="rgb24")
                nf.pts, nf.time_base = frame.pts, frame.time_base
                for pkt in vout.encode(nf):
                    out.mux(pkt)
            elif isinstance(frame, av.AudioFrame):
                a = frame.to_ndarray().astype(np.float32).mean(axis=0)
                s0 = round(float((frame.pts or 0) * (frame.time_base or 1)) * sr)
                if spans:
                    for sp in truth[mute]:
                        lo = max(0, round(sp["start_s"] * sr) - s0)
                        hi = min(len(a), round(sp["end_s"] * sr) - s0)
                        if hi > lo:
                            a[lo:hi] = 0.0
                af = av.AudioFrame.from_ndarray(a[None, :], format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = sr, s0, Fraction(1, sr)
                for pkt in aout.encode(af):
                    out.mux(pkt)
        for stream in (vout, aout):
            for pkt in stream.encode(None):
                out.mux(pkt)


def test_files_and_schema(rec: corpus.RecordingPaths, truth: dict[str, Any]) -> None:
    for p in (rec.video, rec.truth, rec.roster, rec.sidecar):
        assert p.exists() and p.stat().st_size > 0
    assert rec.video.name == "clip.mp4"
    with rec.roster.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["employee_id", "first_name", "last_name", "login", "email", "extension"]
    assert len(rows) >= 1 + 4  # agent + 3 colleagues at least
    side = json.loads(rec.sidecar.read_text(encoding="utf-8"))
    assert side["purpose"] == "training"
    assert side["agent_employee_id"] == rows[1][0]
    assert side["on_hook_s"] == pytest.approx(DUR)
    assert side["windows"] == [{"x": 0, "y": 0, "w": W, "h": H, "start_s": 0.0, "end_s": None}]
    assert truth["width"] == W and truth["height"] == H and truth["fps"] == 10.0
    assert truth["n_frames"] == len(truth["frames"]) == round(DUR * 10)
    assert truth["audio"] == {"sample_rate": 16000, "channels": 1, "n_samples": 64000}
    types = {p["type"] for f in truth["frames"] for p in f["pii"]}
    assert {"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "CREDIT_CARD",
            "DATE_OF_BIRTH", "ADDRESS", "EMPLOYEE_ID"} <= types
    assert {p["who"] for f in truth["frames"] for p in f["pii"]} == {"agent", "customer",
                                                                      "colleague"}
    assert all(f["labels"] for f in truth["frames"])
    values = {p["type"]: p["value"] for f in truth["frames"] for p in f["pii"]}
    assert corpus.iban_is_valid(values["IBAN_CODE"])
    assert corpus.luhn_is_valid(values["CREDIT_CARD"])
    # the chat pop-up (colleague PERSON at the chat position) is shown for ~1 s
    chat = [f["i"] for f in truth["frames"]
            if any(lb["text"] == "Team chat" for lb in f["labels"])]
    assert len(chat) == 10 and chat == list(range(chat[0], chat[0] + 10))


def test_decoded_frames_match_truth(rec: corpus.RecordingPaths, truth: dict[str, Any]) -> None:
    with av.open(str(rec.video)) as c:
        vs = c.streams.video[0]
        assert (vs.width, vs.height) == (W, H)
        times = [float((f.pts or 0) * (f.time_base or 1)) for f in c.decode(vs)]
    assert len(times) == truth["n_frames"]
    assert times == pytest.approx([f["t"] for f in truth["frames"]], abs=1e-6)
    assert times[:3] == pytest.approx([0.0, 0.1, 0.2])


def test_boxes_inside_frame(truth: dict[str, Any]) -> None:
    n = 0
    for f in truth["frames"]:
        for item in f["pii"] + f["labels"]:
            x, y, w, h = item["box"]
            assert w > 0 and h > 0
            assert 0 <= x and 0 <= y and x + w <= W and y + h <= H
            n += 1
    assert n > 0
    # the search box shows the typed prefix of the customer's name
    typed = [p["value"] for f in truth["frames"] for p in f["pii"]
             if p["who"] == "customer" and p["type"] == "PERSON"]
    full = max(typed, key=len)
    assert any(len(v) < len(full) and full.startswith(v) for v in typed)


def test_audio_spans(rec: corpus.RecordingPaths, truth: dict[str, Any]) -> None:
    spans = truth["audio_spans"]
    assert {s["type"] for s in spans} >= {"PERSON", "PHONE_NUMBER"}
    for s in spans:
        assert 0.0 <= s["start_s"] < s["end_s"] <= truth["duration_s"]
    speech = truth["speech"]  # a short call holds only the values
    assert [(u["start_s"], u["end_s"]) for u in speech if u["pii"]] == [(s["start_s"], s["end_s"]) for s in spans]


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[corpus.RecordingPaths, dict[str, Any]]:
    """A call long enough for the ordinary speech around the values."""
    rec = corpus.generate(tmp_path_factory.mktemp("talk"), name="talk", width=320, height=180, duration_s=15.0, seed=2)
    return rec, json.loads(rec.truth.read_text(encoding="utf-8"))


def test_every_utterance_is_listed_and_speech_kept_is_measured(talk: tuple[corpus.RecordingPaths, dict[str, Any]],
                                                               tmp_path: Path) -> None:
    rec, truth = talk
    speech = truth["speech"]
    assert [(u["start_s"], u["end_s"]) for u in speech if u["pii"]] == [(s["start_s"], s["end_s"]) for s in truth["audio_spans"]]
    assert any(not u["pii"] for u in speech) and {u["who"] for u in speech} == {"agent", "customer"}
    assert all(a["end_s"] <= b["start_s"] for a, b in itertools.pairwise(speech))  # in order, no overlap
    same = score.score(rec.truth, rec.video, original=rec.video, max_crops=0)["audio"]["speech_kept"]
    assert same["all"]["share"] >= 0.98 and same["all"]["speech_s"] > 2 and set(same) == {"agent", "customer", "all"}
    muted = tmp_path / "muted.mp4"
    _redact(rec.video, muted, truth, boxes=False)  # the values only
    assert score.score(rec.truth, muted, original=rec.video, max_crops=0)["audio"]["speech_kept"]["all"]["share"] >= 0.9
    silent = tmp_path / "silent.mp4"
    _redact(rec.video, silent, truth, boxes=False, mute="speech")
    assert score.score(rec.truth, silent, original=rec.video, max_crops=0)["audio"]["speech_kept"]["all"]["share"] <= 0.05
    with av.open(str(rec.video)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.name == "aac"
        assert (a.codec_context.sample_rate, a.codec_context.channels) == (16000, 1)


def test_deterministic(tmp_path: Path, truth: dict[str, Any]) -> None:
    again = corpus.generate(tmp_path, name="clip", width=W, height=H, duration_s=DUR, seed=1)
    assert json.loads(again.truth.read_text(encoding="utf-8")) == truth
    other = corpus.generate(tmp_path, name="other", width=W, height=H, duration_s=DUR, seed=2,
                            audio=False, lang="fr", theme="dark", layout=2, font_px=12)
    t2 = json.loads(other.truth.read_text(encoding="utf-8"))
    assert t2["audio"] is None and t2["audio_spans"] == []
    assert {p["value"] for f in t2["frames"] for p in f["pii"]} != \
        {p["value"] for f in truth["frames"] for p in f["pii"]}


def test_leak_matching() -> None:
    assert score.leaks("Helene Lefevre:", "Hélène Lefèvre")
    assert score.leaks("tel 0612 34", "06 12 34 56 78")  # 4 consecutive characters
    assert not score.leaks("06 1", "06 12 34 56 78")
    assert not score.leaks("", "Claire")


def test_scorer_original_leaks(rec: corpus.RecordingPaths) -> None:
    r = score.score(rec.truth, rec.video, max_crops=12, ocr_labels=False)
    assert r["frames"]["pts_equal"]
    assert r["pii"]["checked"] > 0
    assert r["pii"]["leaked"] > 0
    ent = r["pii"]["by_entity"]  # per entity type and category, the same box-frames
    assert {"PERSON/full agent", "PERSON/full customer", "PERSON/typed customer",
            "EMPLOYEE_ID agent"} <= set(ent)
    for f in ("box_frames", "checked", "leaked"):
        assert sum(e[f] for e in ent.values()) == r["pii"][f if f != "box_frames" else "scored"]


def test_scorer_black_boxes_no_leak(rec: corpus.RecordingPaths, truth: dict[str, Any],
                                   tmp_path: Path) -> None:
    red = tmp_path / "redacted.mp4"
    _redact(rec.video, red, truth)
    r = score.score(rec.truth, red, original=rec.video, max_crops=12, ocr_labels=False)
    assert r["frames"]["pts_equal"]
    assert r["pii"]["checked"] > 0
    assert r["pii"]["leaked"] == 0
    assert r["coverage"]["fraction"] > 0.5
    assert r["labels"]["fraction"] < 0.2
    assert r["audio"]["format_equal"] and r["audio"]["length_ok"]
    assert r["audio"]["spans"] > 0 and r["audio"]["survived"] == 0


def test_audio_scoring(rec: corpus.RecordingPaths, truth: dict[str, Any], tmp_path: Path) -> None:
    same = score.score(rec.truth, rec.video, original=rec.video, max_crops=0)
    assert same["audio"]["spans"] == len(truth["audio_spans"]) > 0
    assert same["audio"]["survived"] == same["audio"]["spans"]
    assert sum(e["survived"] for e in same["audio"]["by_entity"].values()) == same["audio"]["spans"]
    assert "PERSON/full agent" in same["audio"]["by_entity"]
    assert same["coverage"]["fraction"] == 0.0 and same["labels"]["destroyed"] == 0
    muted = tmp_path / "muted.mp4"
    _redact(rec.video, muted, truth, boxes=False)
    r = score.score(rec.truth, muted, original=rec.video, max_crops=0)
    assert r["audio"]["survived"] == 0
    no_orig = score.score(rec.truth, muted, max_crops=0)
    assert "spans" not in no_orig["audio"] and "note" in no_orig["audio"]


# --------------------------------------------------------------------------- full variant


@pytest.fixture(scope="module")
def full_fr(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("full")
    paths = corpus.generate(out, name="fr", width=960, height=540, duration_s=5.0, lang="fr",
                            seed=5, full=True, dialogue_start=15)
    return json.loads(paths.truth.read_text(encoding="utf-8"))


def _values(truth: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for f in truth["frames"]:
        for p in f["pii"]:
            out.setdefault((p["type"], p.get("form", ""), p["who"]), p["value"])
    return out


def test_full_variant_shows_every_entity_type(full_fr: dict[str, Any]) -> None:
    assert full_fr["variant"] == "full"
    v = _values(full_fr)
    types = {t for t, _, _ in v}
    assert {"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "ADDRESS", "DATE_OF_BIRTH", "IBAN_CODE",
            "CREDIT_CARD", "CVV", "FR_NIR", "FR_SIREN", "FR_SIRET", "FR_RIB", "CUSTOMER_ID",
            "CONTRACT_ID", "EMPLOYEE_ID", "LOGIN", "EXTENSION"} <= types
    # roster names in every form, and the colleague's login / extension / id
    forms = {(f, w) for t, f, w in v if t == "PERSON"}
    assert {("full", "agent"), ("first", "agent"), ("full", "colleague"), ("first", "colleague"),
            ("last", "colleague"), ("full", "customer"), ("last", "customer")} <= forms
    for t in ("LOGIN", "EXTENSION", "EMPLOYEE_ID"):
        assert (t, "", "colleague") in v and (t, "", "agent") in v
    # valid checksums wherever the real identifier has one
    assert corpus.nir_is_valid(v[("FR_NIR", "", "customer")])
    assert corpus.rib_is_valid(v[("FR_RIB", "", "customer")])
    assert corpus.luhn_is_valid(v[("FR_SIREN", "", "customer")])
    assert corpus.luhn_is_valid(v[("FR_SIRET", "", "customer")])
    assert v[("FR_SIRET", "", "customer")].startswith(v[("FR_SIREN", "", "customer")])
    assert corpus.iban_is_valid(v[("IBAN_CODE", "", "customer")])
    rib = v[("FR_RIB", "", "customer")].replace(" ", "")
    assert v[("IBAN_CODE", "", "customer")].replace(" ", "")[4:] == rib  # the same account
    assert corpus.luhn_is_valid(v[("CREDIT_CARD", "", "customer")])
    # non-PII decoys are labels (must stay readable), and no decoy is also a PII value
    decoys = {lb["text"] for f in full_fr["frames"] for lb in f["labels"] if lb.get("decoy")}
    assert len(decoys) >= 3 and any("€" in d for d in decoys)  # the last rows may be clipped
    assert not decoys & set(v.values())


def test_full_variant_speaks_french_from_the_given_value(full_fr: dict[str, Any]) -> None:
    spans = full_fr["audio_spans"]
    assert spans[0]["type"] == "PERSON" and spans[0]["form"] == "full"  # the greeting
    # dialogue_start=15: the first value after the greeting is the NIR, said in its groups
    assert spans[1]["type"] == "FR_NIR"
    assert spans[1]["text"] == ", ".join(spans[1]["value"].split())


@pytest.mark.parametrize("brand", range(len(corpus.CARD_BRANDS)))
def test_card_brands(brand: int) -> None:
    import random

    name, prefixes, length, groups, cvv_len = corpus.CARD_BRANDS[brand]
    for seed in range(20):
        card, got, cvv = corpus._card_of(random.Random(seed), brand)
        raw = card.replace(" ", "")
        assert got == name and len(raw) == length and raw.startswith(prefixes)
        assert [len(g) for g in card.split()] == list(groups)
        assert corpus.luhn_is_valid(card) and len(cvv) == cvv_len and cvv.isdigit()
    assert any(p.startswith("2") for b in corpus.CARD_BRANDS for p in b[1])  # Mastercard 2-series


def test_checksum_helpers_reject_a_changed_digit() -> None:
    assert corpus.nir_is_valid("1 85 05 78 006 084 91")  # 97 - 1850578006084 mod 97 = 91
    assert not corpus.nir_is_valid("1 85 05 78 006 084 92")
    assert not corpus.nir_is_valid("1 85 05 78 006 085 91")
    assert corpus.rib_is_valid("30004 00823 00010293847 " + corpus.rib_key("30004", "00823",
                                                                        "00010293847"))
    assert not corpus.rib_is_valid("30004 00823 00010293848 " + corpus.rib_key("30004", "00823",
                                                                            "00010293847"))
    assert corpus.luhn_is_valid("732 829 320") and not corpus.luhn_is_valid("732 829 321")


def test_entity_key_and_plan_precision(tmp_path: Path) -> None:
    assert score.entity_key({"type": "PERSON", "form": "first", "who": "colleague"}) == \
        "PERSON/first colleague"
    assert score.entity_key({"type": "FR_NIR", "who": "customer"}) == "FR_NIR customer"
    truth = {"width": 100, "height": 50, "frames": [
        {"t": 0.0, "pii": [{"box": [10, 10, 20, 10]}], "labels": [{"text": "Total", "box": [62, 12, 20, 8]}]},
        {"t": 0.1, "pii": [], "labels": [{"text": "Total", "box": [62, 12, 20, 8]}, {"text": "Tel", "box": [0, 30, 9, 9]}]}],
        "audio_spans": [{"start_s": 1.0, "end_s": 2.0}]}
    plan = {"boxes": [
        {"x": 8, "y": 8, "w": 24, "h": 14, "start_s": 0.0, "end_s": 0.1, "type": "PHONE_NUMBER"},
        {"x": 60, "y": 10, "w": 10, "h": 10, "start_s": 0.0, "end_s": 0.0, "type": "NUMBER"}],
        "audio_spans": [{"start_s": 0.8, "end_s": 2.2}, {"start_s": 5.0, "end_s": 6.0}]}
    (tmp_path / "t.json").write_text(json.dumps(truth))
    (tmp_path / "p.json").write_text(json.dumps(plan))
    r = score.plan_precision(tmp_path / "t.json", tmp_path / "p.json")
    # frame 0: both boxes active, one on PII; frame 1: the phone box, no PII left
    assert (r["box_frames"], r["on_pii"]) == (3, 1)
    assert r["by_type"] == {"NUMBER": {"box_frames": 1, "on_pii": 0},
                            "PHONE_NUMBER": {"box_frames": 2, "on_pii": 1}}
    assert r["area_px"] == 24 * 14 * 2 + 100 and r["area_on_pii_px"] == 24 * 14
    assert r["audio_s"] == pytest.approx(2.4) and r["audio_on_pii_s"] == pytest.approx(1.4)
    # the NUMBER box lies on the label "Total" at frame 0 only; "Tel" is under no box
    assert r["labels_covered_by_type"] == {"NUMBER": 1} and r["labels_covered_by_text"] == {"Total": 1}


def test_scorer_tells_labels_under_a_box_from_labels_the_encoder_changed(rec: corpus.RecordingPaths,
                                                                       truth: dict[str, Any], tmp_path: Path) -> None:
    """With the plan, a label whose pixels changed is counted under a redaction box when a
    plan box lies on it, else as changed by re-encoding only."""
    painted = {**truth, "frames": [{**f, "pii": f["pii"] + f["labels"][:1]} for f in truth["frames"]]}
    red = tmp_path / "redacted.mp4"
    _redact(rec.video, red, painted, spans=False)
    plan = tmp_path / "redacted.plan.json"  # the boxes painted, as a plan lists them
    plan.write_text(json.dumps({"boxes": [{"x": x - 2, "y": y - 2, "w": w + 4, "h": h + 4, "start_s": f["t"], "end_s": f["t"]}
                                          for f in painted["frames"] for p in f["pii"] for x, y, w, h in [p["box"]]]}))
    labels = score.score(rec.truth, red, original=rec.video, max_crops=0, ocr_labels=False, plan=plan)["labels"]
    n_painted = sum(1 for f in truth["frames"] if f["labels"])
    assert labels["pixels_changed"]["under a plan box"] >= n_painted
    assert sum(labels["pixels_changed"].values()) == labels["destroyed_by_pixels"]
    without = score.score(rec.truth, red, original=rec.video, max_crops=0, ocr_labels=False)["labels"]
    assert without["pixels_changed"] is None and without["destroyed_by_pixels"] == labels["destroyed_by_pixels"]
