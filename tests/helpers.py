"""Test helpers: ICC profiles built in code, CIEDE2000, and photo-like images made with numpy."""

from __future__ import annotations

import errno
import io
import os
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from blueheart.io import reading

UN_BLUE_RGB = (0x00, 0x9E, 0xDB)
SHARED_PHOTOS = Path(
    os.environ.get(
        "BLUEHEART_SHARED_PHOTOS", Path(__file__).resolve().parents[2] / "shared" / "photos"
    )
)
"""The real camera photos beside the checkout (``../shared/photos``), where present."""
NEEDS_SHARED_PHOTOS = f"needs the shared camera photos in {SHARED_PHOTOS} (set BLUEHEART_SHARED_PHOTOS to their folder)"

D50 = np.array([0.9642, 1.0, 0.8249])
D65_XY = (0.3127, 0.3290)
BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)

DISPLAY_P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE_RGB = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _tag_xyz(xyz: np.ndarray) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _tag_desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )


def _tag_curve(gamma: float | None) -> bytes:
    if gamma is None:
        g, a, b, c, d = SRGB_CURVE
        return (
            b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in (g, a, b, c, d))
        )
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def matrix_profile(
    primaries: tuple[tuple[float, float], ...], *, gamma: float | None, name: str
) -> bytes:
    """An ICC v2 RGB display profile (matrix/TRC) in a few hundred bytes.

    ``gamma`` None means the sRGB tone curve (as Display P3 uses).
    """
    white = _xyz(D65_XY)
    columns = np.stack([_xyz(p) for p in primaries], axis=1)
    scale = np.linalg.solve(columns, white)
    to_xyz = columns * scale
    source_cone, target_cone = BRADFORD @ white, BRADFORD @ D50
    adapt = np.linalg.inv(BRADFORD) @ np.diag(target_cone / source_cone) @ BRADFORD
    adapted = adapt @ to_xyz
    curve = _tag_curve(gamma)
    tags = [
        (b"desc", _tag_desc(name)),
        (b"wtpt", _tag_xyz(D50)),
        (b"rXYZ", _tag_xyz(adapted[:, 0])),
        (b"gXYZ", _tag_xyz(adapted[:, 1])),
        (b"bXYZ", _tag_xyz(adapted[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text\0\0\0\0public domain\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        padded = data + b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + b"".join(_s15(v) for v in D50)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


P3_PROFILE = matrix_profile(DISPLAY_P3, gamma=None, name="Display P3 (test)")
ADOBE_PROFILE = matrix_profile(ADOBE_RGB, gamma=563 / 256, name="Adobe RGB (test)")


def to_srgb(pixels: np.ndarray, icc_profile: bytes) -> np.ndarray:
    """RGB byte triples in ``icc_profile``'s space, read back as sRGB bytes."""
    image = Image.fromarray(pixels.reshape(1, -1, 3).astype(np.uint8), "RGB")
    converted = ImageCms.profileToProfile(
        image,
        ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    return np.asarray(converted).reshape(-1, 3)


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of sRGB bytes."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    c_mean = (c1 + c2) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    d_big_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(
            np.abs(h1p - h2p) <= 180,
            h_sum / 2,
            np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2),
        ),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt(
        (dl / s_l) ** 2
        + (dc / s_c) ** 2
        + (d_big_h / s_h) ** 2
        + r_t * (dc / s_c) * (d_big_h / s_h)
    )


def photo(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients, a few shapes and sensor-like grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            120 + 80 * np.sin(x / max(width, 1) * 3.1 + seed),
            110 + 70 * np.cos(y / max(height, 1) * 2.3),
            100 + 60 * np.sin((x + y) / max(width + height, 1) * 4.0),
        ],
        axis=-1,
    )
    noise = rng.normal(0, 6, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def default_box(size: tuple[int, int], **overrides: object) -> tuple[int, int, int, int]:
    """Where the default options put the emblem on an image of ``size``."""
    from blueheart.core.heart import silhouette
    from blueheart.core.options import BadgeOptions
    from blueheart.core.placement import Placement, place

    options = BadgeOptions(**overrides)  # type: ignore[arg-type]
    circle_safe = options.circle_safe if options.circle_safe is not None else size[0] == size[1]
    placement = Placement(
        options.position, options.size, options.margin, options.offset, circle_safe
    )
    ring = options.ring if options.ring is not None else 0.06
    return place(size, placement, silhouette(options.style, ring)).as_tuple()


def heart_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> np.ndarray:
    """Pixels at the centre of the heart inside ``box`` (a small patch, fully covered)."""
    left, top, right, bottom = box
    cx, cy = (left + right) // 2, top + (bottom - top) * 45 // 100
    r = max(1, (right - left) // 12)
    patch = np.asarray(image.convert("RGB") if image.mode not in ("RGB", "CMYK") else image)
    return patch[cy - r : cy + r, cx - r : cx + r].reshape(-1, patch.shape[-1])


XMP_WITH_LOCATION = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,21.0E">'
    "<photoshop:City>Paris</photoshop:City>"
    "<Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li>Rue X</rdf:li></rdf:Bag>"
    "</Iptc4xmpExt:LocationCreated>"
    "<dc:creator><rdf:Seq><rdf:li>A volunteer</rdf:li></rdf:Seq></dc:creator>"
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def camera_exif(orientation: int = 1, *, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.Model] = "Model 15"
    exif[ExifTags.Base.Orientation] = orientation
    if gps:
        location = exif.get_ifd(ExifTags.IFD.GPSInfo)
        location[ExifTags.GPS.GPSLatitudeRef] = "N"
        location[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 30.0)
        location[ExifTags.GPS.GPSLongitudeRef] = "E"
        location[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 5.0)
    return exif


def save(image: Image.Image, path: Path, fmt: str | None = None, **params: object) -> Path:
    image.save(path, fmt, **params)
    return path


def reopen(path_or_bytes: Path | bytes) -> Image.Image:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    image = Image.open(source)
    image.load()
    return image


def blue_fraction(image: Image.Image) -> float:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    close = np.abs(pixels - UN_BLUE_RGB).max(axis=1) <= 20
    return float(close.mean())


# What each EXIF orientation asks a viewer to do, undone to make the stored pixels.
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def animation(count: int = 4) -> list[Image.Image]:
    return [photo(160, 120, seed=i) for i in range(count)]


def many_photos(root: Path, count: int, size: tuple[int, int]) -> Path:
    """``root/src`` holding ``count`` JPEGs of ``size``, named ``photo-000.jpg`` on."""
    source = root / "src"
    source.mkdir()
    base = photo(*size)
    for index in range(count):
        base.save(source / f"photo-{index:03}.jpg", quality=90)
    return source


def decodes_fully(path: Path) -> bool:
    """Whether the image file at ``path`` opens and decodes to its last pixel."""
    try:
        with Image.open(path) as image:
            image.load()
    except Exception:
        return False
    return True


class FailingFile(io.RawIOBase):
    """A file whose reads fail with EIO from byte ``fail_at`` on, as on a failing disk."""

    def __init__(self, path: Path, fail_at: int) -> None:
        self._file = path.open("rb", buffering=0)
        self._fail_at = fail_at

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        room = self._fail_at - self._file.tell()
        if room <= 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return self._file.readinto(memoryview(buffer)[:room])

    def close(self) -> None:
        self._file.close()
        super().close()


def fail_reads(monkeypatch: pytest.MonkeyPatch, path: Path, fail_at: int) -> None:
    """Make blueheart's reads of the image file ``path`` fail with EIO from byte ``fail_at`` on
    (every input is opened through ``reading.open_regular``); other files read as usual."""
    opener = reading.open_regular

    def open_failing(source: Path, name: str, **keywords: Any) -> IO[bytes]:
        stream = opener(source, name, **keywords)
        if Path(source) != path:
            return stream
        stream.close()
        return io.BufferedReader(FailingFile(path, fail_at))

    monkeypatch.setattr(reading, "open_regular", open_failing)


def fail_stat(monkeypatch: pytest.MonkeyPatch, path: Path, code: int) -> None:
    """Make every ``stat`` and ``lstat`` of ``path`` (and so ``Path.is_dir``, ``exists``) fail
    with ``code``, as a failing disk does (tests run as root, whom EACCES lets through)."""
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def failing(target: Any, *args: Any, real: Any = real, **kwargs: Any) -> Any:
            if not isinstance(target, int) and Path(os.fsdecode(target)) == path:
                raise OSError(code, os.strerror(code), os.fspath(target))
            return real(target, *args, **kwargs)

        monkeypatch.setattr(os, name, failing)


def fail_listing(monkeypatch: pytest.MonkeyPatch, path: Path, code: int) -> None:
    """Make listing the folder ``path`` (``os.scandir``, as ``os.walk`` does) fail with ``code``."""
    real = os.scandir

    def failing(target: Any = ".") -> Any:
        if Path(os.fsdecode(target)) == path:
            raise OSError(code, os.strerror(code), os.fspath(target))
        return real(target)

    monkeypatch.setattr(os, "scandir", failing)


def organiser_tree(root: Path) -> Path:
    """Nested Unicode folders, names with spaces, non-images, corrupt files, an animated GIF
    and a transparent PNG."""
    source = root / "campaign photos"
    (source / "Équipe Nord" / "día 1").mkdir(parents=True)
    (source / "スタッフ").mkdir()
    photo(300, 200, seed=1).save(source / "Équipe Nord" / "día 1" / "portrait 1.jpg")
    photo(200, 300, seed=2).save(source / "スタッフ" / "山田.jpeg")
    transparent = photo(120, 120, seed=3).convert("RGBA")
    transparent.putalpha(100)
    transparent.save(source / "logo.png")
    frames = [photo(90, 60, seed=s).convert("P") for s in range(3)]
    frames[0].save(source / "wave.gif", save_all=True, append_images=frames[1:], duration=90)
    (source / "notes.txt").write_text("not a photo")
    (source / "._portrait.jpg").write_bytes(b"\0\5\26\7 AppleDouble")
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return source


def statuses(report: object) -> dict[str, str]:
    """Each result's status, by the source's file name."""
    return {Path(r.source).name: r.status for r in report.results}  # type: ignore[attr-defined]
