"""All PyAV use lives here: probing, decoding frames with their pts, audio, encoding, muxing.

PyAV (FFmpeg bindings) is used instead of shelling out to ffmpeg so frames keep their exact
pts and time base, errors surface as exceptions we can wrap, and nothing else is installed.
"""

from anonymizer.media.audio import AudioTrack, read_audio, resample_mono
from anonymizer.media.probe import MediaInfo, probe
from anonymizer.media.video import VideoFrameData, iter_frames
from anonymizer.media.writer import write_recording

__all__ = [
    "AudioTrack",
    "MediaInfo",
    "VideoFrameData",
    "iter_frames",
    "probe",
    "read_audio",
    "resample_mono",
    "write_recording",
]
