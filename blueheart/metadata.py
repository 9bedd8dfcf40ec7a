"""The metadata policy: what of a photo's EXIF, XMP and ICC data goes into the output.

By default the ICC profile and EXIF are kept, minus the orientation tag (the pixels are rotated
instead: platforms ignore the tag) and minus everything that locates the photo: the GPS IFD, and
location fields in XMP. ``keep_metadata`` keeps the location too.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from PIL import ExifTags, Image

# Names that hold a place anywhere in them (DJI's GpsLatitude and AbsoluteAltitude, Adobe's
# shotLocation, IPTC's LocationCreated), then whole names too short to look for inside others.
_LOCATION = (
    r"\w*(?:GPS|Location|Latitude|Longitude|Altitude|LatLong)\w*|"
    r"City|State|Country\w*|ProvinceState|WorldRegion|GPano\w*"
)
_ORIENTATION = r"Orientation"
_XPACKET = re.compile(r"<\?xpacket[^>]*\?>")

# A TIFF's whole tag directory reads as its EXIF. These tags describe the source file's pixel
# layout (wrong for the output) or carry XMP and ICC, which travel on their own.
_SOURCE_LAYOUT_TAGS = (
    254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320,
    322, 323, 324, 325, 338, 339, 530, 531, 532, 700, 34675, 37724,
)  # fmt: skip
_MAX_XMP_BYTES = 4 << 20
"""Larger XMP is dropped unread: real packets are tens of kilobytes."""
# IPTC and Photoshop blocks hold city, country and sublocation fields.
_EMBEDDED_BLOCKS = (33723, 34377)
_RDF_CONTAINERS = frozenset({"xmpmeta", "RDF", "Description", "Bag", "Seq", "Alt"})
"""XMP elements that hold properties, never text of their own."""
EXIF_ERRORS = (
    SyntaxError,
    struct.error,
    TypeError,
    AttributeError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    EOFError,
)
"""What Pillow raises on a damaged EXIF block (a RATIONAL stored as text, a count that does
not fit the type, a bad offset), reading it or writing it back. Cameras write such blocks and
viewers show the photo anyway: the block is left out, the photo is badged."""


def _patterns(local_names: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Regexes for XMP elements and attributes with these local names, and for the names."""
    qualified = rf"[A-Za-z_][\w.-]*:(?:{local_names})"
    flags = re.IGNORECASE | re.DOTALL
    return (
        re.compile(rf"<({qualified})(?=[\s/>])[^>]*?(?:/>|>.*?</\1\s*>)", flags),
        re.compile(rf"\s{qualified}\s*=\s*(?:\"[^\"]*\"|'[^']*')", flags),
        re.compile(rf"^(?:{local_names})$", re.IGNORECASE),
    )


_DROP_ORIENTATION = _patterns(_ORIENTATION)
_DROP_LOCATION = _patterns(f"{_LOCATION}|{_ORIENTATION}")


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
    try:
        found = image.getexif()
        if not len(found):
            return None
        # A copy, so that the image's own EXIF (and its orientation) is left for exif_transpose.
        exif = Image.Exif()
        exif.load(found.tobytes())
        exif.pop(ExifTags.Base.Orientation, None)
        for tag in _SOURCE_LAYOUT_TAGS:
            exif.pop(tag, None)
        if not keep_location:
            exif.pop(ExifTags.IFD.GPSInfo, None)
            for tag in _EMBEDDED_BLOCKS:
                exif.pop(tag, None)
        return exif.tobytes() if len(exif) else None
    except EXIF_ERRORS:
        return None


def _raw_xmp(image: Image.Image) -> bytes | None:
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(raw, str):
        return raw.encode("utf-8")
    return raw if isinstance(raw, bytes) else None


def _policy_xmp(xmp: bytes | None, *, keep_location: bool) -> bytes | None:
    """XMP without orientation (and location unless kept); dropped whole if it cannot be
    cleaned with certainty, since a leak is worse than a lost caption."""
    if not xmp or len(xmp) > _MAX_XMP_BYTES:
        return None
    text = xmp.decode("utf-8", errors="replace")
    element, attribute, names = _DROP_ORIENTATION if keep_location else _DROP_LOCATION
    # The expat parse comes first: it is linear, and the regexes below only ever see
    # well-formed XML, where each start tag finds its end without rescanning the packet.
    if _parse(text) is None:
        return None
    if not _mentions(text, names):
        return xmp
    cleaned = element.sub("", attribute.sub("", text))
    return None if _mentions(cleaned, names) else cleaned.encode("utf-8")


def _parse(xmp: str) -> ET.Element | None:
    try:
        return ET.fromstring(_XPACKET.sub("", xmp).strip().lstrip("\ufeff"))
    except ET.ParseError:
        return None


def _mentions(xmp: str, names: re.Pattern[str]) -> bool:
    """True if a parse of ``xmp`` still finds a matching element or attribute, or fails, or
    finds text where XMP has none (between properties, where a damaged tag's name can land)."""
    root = _parse(xmp)
    if root is None:
        return True
    for node in root.iter():
        if names.match(_local(node.tag)):
            return True
        if any(names.match(_local(key)) for key in node.attrib):
            return True
        if _local(node.tag) in _RDF_CONTAINERS and _holds_text(node):
            return True
    return False


def _holds_text(node: ET.Element) -> bool:
    return bool((node.text or "").strip()) or any((child.tail or "").strip() for child in node)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]
