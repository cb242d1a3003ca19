"""PyAV layer: the output keeps size, frame count, every pts, the audio's rate, layout and
length, across containers, odd sizes, variable frame rate and audio layouts."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anonymizer.media import iter_frames, probe, read_audio, write_recording


def make_clip(path: Path, *, w: int, h: int, pts: list[int], time_base: Fraction, codec: str = "libx264",
              audio_rate: int | None = 16000, layout: str = "mono", audio_codec: str = "aac") -> None:
    """A test clip whose frames sit at exactly ``pts`` (so variable frame rates are easy)."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=10)
        vs.width, vs.height = w, h
        vs.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        aus = out.add_stream(audio_codec, rate=audio_rate, layout=layout) if audio_rate else None
        for i, p in enumerate(pts):
            img = np.full((h, w, 3), (i * 37) % 255, np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = p, time_base
            for pk in vs.encode(f):
                out.mux(pk)
        for pk in vs.encode(None):
            out.mux(pk)
        if aus is not None:
            dur = float(pts[-1] * time_base) + 0.1
            n = int(dur * audio_rate)
            ch = 2 if layout == "stereo" else 1
            t = np.arange(n) / audio_rate
            sig = np.stack([0.3 * np.sin(2 * np.pi * 440 * (k + 1) * t) for k in range(ch)]).astype(np.float32)
            step = aus.codec_context.frame_size or 1024
            for i in range(0, n, step):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(sig[:, i : i + step]), format="fltp", layout=layout)
                af.sample_rate, af.pts = audio_rate, i
                for pk in aus.encode(af):
                    out.mux(pk)
            for pk in aus.encode(None):
                out.mux(pk)


CASES = [
    ("cfr.mp4", 320, 180, [i * 1024 for i in range(20)], Fraction(1, 10240), "libx264", 16000, "mono", "aac"),
    ("vfr.mkv", 320, 180, [0, 40, 100, 250, 260, 270, 700, 1000, 1033, 1500], Fraction(1, 1000), "libx264", 8000, "mono", "aac"),
    ("odd.mp4", 321, 181, [i * 512 for i in range(12)], Fraction(1, 5120), "libx264", 44100, "stereo", "aac"),
    ("vp9.webm", 256, 144, [i * 100 for i in range(15)], Fraction(1, 1000), "libvpx-vp9", 48000, "stereo", "libopus"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_round_trip_keeps_timing_and_audio(tmp_path: Path, case: tuple) -> None:  # type: ignore[type-arg]
    name, w, h, pts, tb, codec, rate, layout, acodec = case
    src = tmp_path / name
    make_clip(src, w=w, h=h, pts=pts, time_base=tb, codec=codec, audio_rate=rate, layout=layout, audio_codec=acodec)
    info = probe(src)
    assert (info.width, info.height) == (w, h) and info.has_audio
    frames_in = [(f.pts, f.t) for f in iter_frames(src)]
    track = read_audio(src)
    out = tmp_path / "out.mp4"
    # alternate untouched frames and redrawn RGB frames, as the renderer does
    gen = ((f.pts, f.rgb() if i % 2 else f.frame) for i, f in enumerate(iter_frames(src)))
    n = write_recording(out, width=w, height=h, time_base=info.time_base, rate=info.avg_rate, frames=gen, audio=track)
    assert n == len(pts)
    oinfo = probe(out)
    assert (oinfo.width, oinfo.height) == (w, h)
    frames_out = [(f.pts, f.t) for f in iter_frames(out)]
    assert [round(t, 6) for _, t in frames_out] == [round(t, 6) for _, t in frames_in]
    otrack = read_audio(out)
    assert otrack.sample_rate == track.sample_rate and otrack.layout == track.layout
    assert abs(otrack.samples.shape[1] - track.samples.shape[1]) <= 1024


def test_redrawn_pixels_survive_encoding(tmp_path: Path) -> None:
    src = tmp_path / "a.mp4"
    make_clip(src, w=64, h=64, pts=[0, 1024, 2048], time_base=Fraction(1, 10240))
    info = probe(src)

    def frames():  # type: ignore[no-untyped-def]
        for f in iter_frames(src):
            rgb = f.rgb()
            rgb[16:48, 16:48] = (250, 10, 10)
            yield f.pts, rgb

    out = tmp_path / "b.mp4"
    write_recording(out, width=64, height=64, time_base=info.time_base, rate=info.avg_rate, frames=frames(), audio=None)
    for f in iter_frames(out):
        px = f.rgb()[32, 32]
        assert px[0] > 200 and px[1] < 60


def _remux(src: Path, dst: Path, fmt: str, options: dict[str, str] | None = None) -> Path:
    with av.open(str(src)) as i, av.open(str(dst), "w", format=fmt, options=options or {}) as o:
        ost = o.add_stream_from_template(i.streams.video[0])
        for pkt in i.demux(i.streams.video[0]):
            if pkt.dts is not None:
                pkt.stream = ost
                o.mux(pkt)
    return dst


def test_probe_refuses_unfinished_containers(tmp_path: Path) -> None:
    """What a recorder leaves while still writing opens and decodes, yet is not the call:
    probe says so (IncompleteInputError, exit 3, naming the file); finished ones pass."""
    from anonymizer.errors import IncompleteInputError
    from benchmarks.batch_mutate import boxes

    src = tmp_path / "src.mp4"
    make_clip(src, w=64, h=48, pts=[i * 1024 for i in range(30)], time_base=Fraction(1, 10240), audio_rate=None)
    frag = _remux(src, tmp_path / "frag.mp4", "mp4", {"movflags": "frag_keyframe+empty_moov"})
    done_mkv = _remux(src, tmp_path / "done.mkv", "matroska")
    assert probe(frag).duration_s > 2.5 and probe(done_mkv).duration_s > 2.5
    data = frag.read_bytes()
    mfra = [off for kind, off, _ in boxes(data) if kind == b"mfra"]
    assert mfra, "FFmpeg closes a fragmented MP4 with an mfra index"
    unfinished = {
        "frag_no_index.mp4": (data[: mfra[0]], "fragmented MP4 without its closing index (mfra)"),
        "frag_cut.mp4": (data[: mfra[0] - 10], "bytes inside its 'mdat' box"),
        "cut.mkv": (done_mkv.read_bytes()[: done_mkv.stat().st_size * 3 // 4], "before its Matroska segment does"),
    }
    for name, (content, _why) in unfinished.items():
        (tmp_path / name).write_bytes(content)
    unfinished_paths = {name: tmp_path / name for name in unfinished}
    unfinished_paths["live.mkv"] = _remux(src, tmp_path / "live.mkv", "matroska", {"live": "1"})
    reasons = {name: why for name, (_, why) in unfinished.items()} | {"live.mkv": "Matroska/WebM without a duration"}
    for name, path in unfinished_paths.items():
        with pytest.raises(IncompleteInputError) as err:
            probe(path)
        assert err.value.exit_code == 3 and str(err.value).startswith(f"{path}: incomplete container: ")
        assert reasons[name] in str(err.value), (name, str(err.value))
