"""The metadata policy: what of a photo's EXIF, XMP and ICC data goes into the output.

By default the ICC profile and EXIF are kept, minus the orientation tag (the pixels are rotated
instead: platforms ignore the tag) and minus everything that locates the photo: the GPS IFD, and
location fields in XMP. ``keep_metadata`` keeps the location too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from PIL import ExifTags, Image

_LOCATION_NAMES = re.compile(
    r"^(GPS\w*|Location\w*|City|State|Country\w*|Sublocation|ProvinceState|"
    r"Latitude|Longitude|Altitude|LatLong|GPano\w*)$",
    re.IGNORECASE,
)
_ORIENTATION_NAMES = re.compile(r"^Orientation$")
_QUALIFIED_NAME = r"[A-Za-z_][\w.-]*:([A-Za-z_][\w.-]*)"
_ELEMENT = re.compile(rf"<({_QUALIFIED_NAME})\b[^>]*?(?:/>|>.*?</\1\s*>)", re.DOTALL)
_ATTRIBUTE = re.compile(rf"\s({_QUALIFIED_NAME})\s*=\s*(\"[^\"]*\"|'[^']*')")


@dataclass(frozen=True)
class Metadata:
    """What the output carries: ICC profile, EXIF and XMP bytes (each may be absent)."""

    icc_profile: bytes | None
    exif: bytes | None
    xmp: bytes | None


def read_metadata(image: Image.Image, *, keep_location: bool) -> Metadata:
    """The metadata of an opened ``image`` after the policy (see the module docstring)."""
    icc = image.info.get("icc_profile") or None
    return Metadata(
        icc_profile=icc if isinstance(icc, bytes) else None,
        exif=_policy_exif(image, keep_location=keep_location),
        xmp=_policy_xmp(_raw_xmp(image), keep_location=keep_location),
    )


def _policy_exif(image: Image.Image, *, keep_location: bool) -> bytes | None:
    exif = image.getexif()
    if not len(exif):
        return None
    exif.pop(ExifTags.Base.Orientation, None)
    if not keep_location:
        exif.pop(ExifTags.IFD.GPSInfo, None)
    return exif.tobytes() if len(exif) else None


def _raw_xmp(image: Image.Image) -> bytes | None:
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(raw, str):
        return raw.encode("utf-8")
    return raw if isinstance(raw, bytes) else None


def _policy_xmp(xmp: bytes | None, *, keep_location: bool) -> bytes | None:
    """XMP without orientation (and location unless kept); dropped whole if it cannot be
    cleaned with certainty, since a leak is worse than a lost caption."""
    if not xmp:
        return None
    text = xmp.decode("utf-8", errors="replace")
    names = _ORIENTATION_NAMES if keep_location else _combined_names()
    cleaned = _ATTRIBUTE.sub(lambda m: "" if names.match(m.group(2)) else m.group(0), text)
    previous = None
    while previous != cleaned:
        previous = cleaned
        cleaned = _ELEMENT.sub(lambda m: "" if names.match(m.group(2)) else m.group(0), cleaned)
    if _mentions(cleaned, names):
        return None
    return cleaned.encode("utf-8")


def _combined_names() -> re.Pattern[str]:
    return re.compile(f"{_LOCATION_NAMES.pattern}|{_ORIENTATION_NAMES.pattern}", re.IGNORECASE)


def _mentions(xmp: str, names: re.Pattern[str]) -> bool:
    """True if a parse of ``xmp`` still finds a matching element or attribute, or fails."""
    body = xmp[xmp.find("<x:xmpmeta") :] if "<x:xmpmeta" in xmp else xmp
    body = body[: body.rfind(">") + 1]
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return True
    for element in root.iter():
        if names.match(_local(element.tag)):
            return True
        if any(names.match(_local(attribute)) for attribute in element.attrib):
            return True
    return False


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]
