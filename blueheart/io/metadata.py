"""The metadata policy: what of a photo's EXIF, XMP, PNG text and ICC data goes into the output.

Privacy by allow-list (``Policy.DESCRIPTIVE``, the default): the output keeps the ICC profile and
only the descriptive fields named in ``DESCRIPTIVE_FIELDS`` (author, copyright, title and
description, capture date and time, camera make and model, lens and exposure settings), from
EXIF, XMP and PNG text. Everything else is dropped: GPS and every other location or network
field, MakerNotes (vendor blocks hold previews of the uncropped photo, places, serial numbers),
thumbnails and previews, IPTC, Photoshop blocks, unknown tags and XMP properties, orientation.
``Policy.KEEP`` keeps everything but the orientation (the pixels are turned instead) and the
source's pixel layout; ``Policy.STRIP`` keeps the ICC profile alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import ExifTags, Image

from blueheart.core.errors import EXIF_ERRORS
from blueheart.core.options import (
    Policy as Policy,  # its home is the vocabulary; named here as before
)

# -- the allow-list: the one place that says what is descriptive ---------------------------

_MAIN_FIELDS = (
    "ImageDescription", "Make", "Model", "DateTime", "Artist", "Copyright",
    "XResolution", "YResolution", "ResolutionUnit",
)  # fmt: skip
"""EXIF fields of the main directory (IFD0), named as in ``PIL.ExifTags.Base``; the print
resolution says how large the photo prints, nothing of who or where."""
_EXIF_FIELDS = (
    "DateTimeOriginal", "DateTimeDigitized", "OffsetTime", "OffsetTimeOriginal",
    "OffsetTimeDigitized", "SubsecTime", "SubsecTimeOriginal", "SubsecTimeDigitized",
    "ExposureTime", "FNumber", "ExposureProgram", "ISOSpeedRatings", "SensitivityType",
    "StandardOutputSensitivity", "RecommendedExposureIndex", "ISOSpeed", "ShutterSpeedValue",
    "ApertureValue", "BrightnessValue", "ExposureBiasValue", "MaxApertureValue",
    "SubjectDistance", "MeteringMode", "LightSource", "Flash", "FocalLength", "ExposureIndex",
    "ExposureMode", "WhiteBalance", "DigitalZoomRatio", "FocalLengthIn35mmFilm",
    "SceneCaptureType", "LensSpecification", "LensMake", "LensModel",
)  # fmt: skip
"""EXIF fields of the Exif directory: capture time, exposure and lens. Never serial numbers
(``BodySerialNumber``, ``LensSerialNumber``), owner names or ``MakerNote``."""

_XMP_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "exifEX": "http://cipa.jp/exif/1.0/",
    "aux": "http://ns.adobe.com/exif/1.0/aux/",
}
DESCRIPTIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "dc": ("creator", "rights", "title", "description"),
    "xmp": ("CreateDate",),
    "xmpRights": ("Marked", "UsageTerms", "WebStatement"),
    "photoshop": ("DateCreated",),
    # XMP names the EXIF fields as EXIF does (tiff: the main directory, exif and exifEX: the
    # Exif directory, EXIF 2.3's ISO name in exifEX), so one list serves both.
    "tiff": _MAIN_FIELDS,
    "exif": _EXIF_FIELDS,
    "exifEX": (*_EXIF_FIELDS, "PhotographicSensitivity"),
    "aux": ("Lens", "LensInfo"),
}
"""The descriptive XMP properties kept by default, by namespace prefix."""
_PNG_TEXT_FIELDS = ("Title", "Author", "Description", "Copyright", "Creation Time", "Source")
"""The PNG specification's keywords for the same fields ("Source": the camera)."""

_MAIN_TAGS = frozenset(ExifTags.Base[name] for name in _MAIN_FIELDS)
_EXIF_TAGS = frozenset(ExifTags.Base[name] for name in _EXIF_FIELDS)
_XMP_PROPERTIES = frozenset(
    f"{{{_XMP_NAMESPACES[prefix]}}}{name}"
    for prefix, names in DESCRIPTIVE_FIELDS.items()
    for name in names
)

# -- limits and other constants ------------------------------------------------------------

# A TIFF's whole tag directory reads as its EXIF. These tags describe the source file's pixel
# layout and compression (wrong for the output: JPEGTables, 347, turns a JPEG-compressed
# TIFF's colours) or carry XMP and ICC, which travel on their own.
_SOURCE_LAYOUT_TAGS = (
    254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324,
    325, 330, 338, 339, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 530, 531, 532, 700,
    34675, 37724,
)  # fmt: skip
_MAX_XMP_BYTES = 4 << 20
"""Larger XMP is dropped unread: real packets are tens of kilobytes."""
_MAX_DPI = 65535
"""The most dots per inch kept: a JPEG stores its density in 16 bits."""
_INCHES, _CENTIMETRES = 2, 3
"""EXIF's ``ResolutionUnit`` values (1: no unit, an aspect ratio only)."""
_CM_PER_INCH = 2.54
_XPACKET = re.compile(r"<\?xpacket[^>]*\?>")
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DESCRIPTION = f"{{{_RDF}}}Description"
_PREFIXES = {uri: prefix for prefix, uri in _XMP_NAMESPACES.items()}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RDF_ARRAYS = frozenset(f"{{{_RDF}}}{kind}" for kind in ("Seq", "Bag", "Alt"))
_RDF_CONTAINERS = frozenset({"xmpmeta", "RDF", "Description", "Bag", "Seq", "Alt"})
"""XMP elements that hold properties, never text of their own."""
# XML escapes, written here: ``xml.sax.saxutils`` imports ``urllib.request`` (20 ms a run).
# Carriage returns and, in attributes, newlines and tabs are escaped too, so that a parser's
# line-end and attribute normalisation gives back the text exactly.
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_XML_ATTRIBUTE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#9;",
    }
)
_ORIENTATION = "Orientation"
_QUALIFIED_ORIENTATION = rf"[A-Za-z_][\w.-]*:{_ORIENTATION}"
_ORIENTATION_ELEMENT = re.compile(
    rf"<({_QUALIFIED_ORIENTATION})(?=[\s/>])[^>]*?(?:/>|>.*?</\1\s*>)", re.IGNORECASE | re.DOTALL
)
_ORIENTATION_ATTRIBUTE = re.compile(
    rf"\s{_QUALIFIED_ORIENTATION}\s*=\s*(?:\"[^\"]*\"|'[^']*')", re.IGNORECASE
)


@dataclass(frozen=True)
class Metadata:
    """What the output carries (each may be absent): the ICC profile, EXIF and XMP bytes, PNG
    text chunks, a JPEG or GIF comment and the print resolution (dots per inch, x and y)."""

    icc_profile: bytes | None
    exif: bytes | None = None
    xmp: bytes | None = None
    text: dict[str, str] | None = None
    comment: bytes | None = None
    dpi: tuple[float, float] | None = None


def read_metadata(image: Image.Image, policy: Policy, *, output_format: str) -> Metadata:
    """The metadata of a decoded ``image`` that ``policy`` lets into an ``output_format`` file
    (a Pillow format name: a TIFF's EXIF is its tag directory, and gets the allow-listed
    fields of the main directory only, whatever the policy).

    Call it after ``image.load()``, before the pixels change: a PNG's text chunks after its
    pixel data are read by the decoder."""
    icc = image.info.get("icc_profile") or None
    icc = icc if isinstance(icc, bytes) else None
    if policy is Policy.STRIP:
        return Metadata(icc_profile=icc)
    keep = policy is Policy.KEEP
    if output_format == "TIFF":
        exif = _descriptive_exif(image, main_only=True)
    else:
        exif = _all_exif(image) if keep else _descriptive_exif(image, main_only=False)
    xmp = _raw_xmp(image)
    comment = image.info.get("comment")
    return Metadata(
        icc_profile=icc,
        exif=exif,
        xmp=_without_orientation(xmp) if keep else descriptive_xmp(xmp),
        text={
            key: value for key, value in _png_text(image).items() if keep or key in _PNG_TEXT_FIELDS
        },
        comment=comment if keep and isinstance(comment, bytes) else None,
        dpi=print_resolution(image),
    )


def print_resolution(image: Image.Image) -> tuple[float, float] | None:
    """The (x, y) dots per inch the opened ``image`` states (a JPEG's JFIF density, a PNG's
    pHYs, a TIFF's or BMP's resolution, else EXIF's ``XResolution``), or None if it states
    none, or none between 1 and 65535."""
    stated_by_jfif = image.info.get("jfif_unit") in (1, 2)
    # Pillow's JPEG reader says 72 dpi when nothing in the file says anything.
    if image.format in ("JPEG", "MPO") and not stated_by_jfif:
        dpi = _exif_resolution(image)
    else:
        dpi = image.info.get("dpi") or _exif_resolution(image)
    try:
        x, y = (float(value) for value in dpi or ())
    except (TypeError, ValueError):
        return None
    return (x, y) if all(1 <= v <= _MAX_DPI for v in (x, y)) else None


def _exif_resolution(image: Image.Image) -> tuple[float, float] | None:
    try:
        exif = image.getexif()
        x = exif.get(ExifTags.Base.XResolution)
        y = exif.get(ExifTags.Base.YResolution, x)
        unit = exif.get(ExifTags.Base.ResolutionUnit, _INCHES)  # EXIF's default
        if x is None or unit not in (_INCHES, _CENTIMETRES):
            return None
        scale = _CM_PER_INCH if unit == _CENTIMETRES else 1
        return float(x) * scale, float(y) * scale
    except (*EXIF_ERRORS, ZeroDivisionError):
        return None


# -- EXIF ----------------------------------------------------------------------------------


def _descriptive_exif(image: Image.Image, *, main_only: bool) -> bytes | None:
    """A new EXIF block holding the allow-listed fields of the image's EXIF, if any."""
    try:
        found = image.getexif()
        kept = Image.Exif()
        for tag in _MAIN_TAGS.intersection(found):
            kept[tag] = found[tag]
        if not main_only:
            exif_ifd = found.get_ifd(ExifTags.IFD.Exif)
            for tag in _EXIF_TAGS.intersection(exif_ifd):
                kept.get_ifd(ExifTags.IFD.Exif)[tag] = exif_ifd[tag]
        return kept.tobytes() if len(kept) or kept.get_ifd(ExifTags.IFD.Exif) else None
    except EXIF_ERRORS:
        return None


def _all_exif(image: Image.Image) -> bytes | None:
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
        return exif.tobytes() if len(exif) else None
    except EXIF_ERRORS:
        return None


# -- XMP -----------------------------------------------------------------------------------


def _raw_xmp(image: Image.Image) -> bytes | None:
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, bytes) or not raw or len(raw) > _MAX_XMP_BYTES:
        return None
    return raw


def descriptive_xmp(xmp: bytes | None) -> bytes | None:
    """A new XMP packet holding only the allow-listed properties of ``xmp``.

    Nothing of the source packet is copied but the text of those properties, so a damaged or
    hostile packet cannot smuggle anything through. None if ``xmp`` holds none of them or
    cannot be parsed.
    """
    root = _parse(xmp.decode("utf-8", errors="replace")) if xmp else None
    if root is None:
        return None
    properties: dict[str, str] = {}
    for name, value in _descriptive_properties(root):
        properties.setdefault(name, value)
    if not properties:
        return None
    used = {name.split("}")[0][1:] for name in properties}
    declarations = "".join(
        f" xmlns:{prefix}={_xml_attribute(uri)}"
        for prefix, uri in _XMP_NAMESPACES.items()
        if uri in used
    )
    body = "".join(properties.values())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{_RDF}">'
        f'<rdf:Description rdf:about=""{declarations}>{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def _descriptive_properties(root: ET.Element) -> Iterator[tuple[str, str]]:
    """(qualified name, serialised property) for each allow-listed property that holds text
    or an array of texts, from the packet's top-level descriptions."""
    descriptions = (
        node for rdf in root.iter(f"{{{_RDF}}}RDF") for node in rdf if node.tag == _DESCRIPTION
    )
    for description in descriptions:
        for name, value in description.attrib.items():
            if name in _XMP_PROPERTIES:
                yield name, _property(name, _xml_text(value))
        for node in description:
            if node.tag in _XMP_PROPERTIES and (serialised := _property_value(node)):
                yield node.tag, _property(node.tag, serialised)


def _property_value(node: ET.Element) -> str | None:
    """The serialised value of a simple or array property; None for any other shape."""
    children = list(node)
    if not children:
        return _xml_text(node.text) if node.text else None
    array = children[0]
    if len(children) > 1 or array.tag not in _RDF_ARRAYS or node.attrib:
        return None
    items = []
    for item in array:
        if item.tag != f"{{{_RDF}}}li" or len(item) or set(item.attrib) - {_XML_LANG}:
            return None
        lang = f" xml:lang={_xml_attribute(item.attrib[_XML_LANG])}" if item.attrib else ""
        items.append(f"<rdf:li{lang}>{_xml_text(item.text or '')}</rdf:li>")
    kind = _local(array.tag)
    return f"<rdf:{kind}>{''.join(items)}</rdf:{kind}>"


def _xml_text(text: str) -> str:
    return text.translate(_XML_TEXT)


def _xml_attribute(text: str) -> str:
    """``text`` as a quoted XML attribute value."""
    return f'"{text.translate(_XML_ATTRIBUTE)}"'


def _property(name: str, value: str) -> str:
    uri, local = name[1:].split("}")
    prefix = _PREFIXES[uri]
    return f"<{prefix}:{local}>{value}</{prefix}:{local}>"


def _without_orientation(xmp: bytes | None) -> bytes | None:
    """``xmp`` without its orientation; dropped whole if it cannot be parsed, or cleaned
    with certainty."""
    if xmp is None:
        return None
    text = xmp.decode("utf-8", errors="replace")
    # The expat parse comes first: it is linear, and the regexes below only ever see
    # well-formed XML, where each start tag finds its end without rescanning the packet.
    if _parse(text) is None:
        return None
    if not _mentions_orientation(text):
        return xmp
    cleaned = _ORIENTATION_ELEMENT.sub("", _ORIENTATION_ATTRIBUTE.sub("", text))
    return None if _mentions_orientation(cleaned) else cleaned.encode("utf-8")


def _parse(xmp: str) -> ET.Element | None:
    try:
        return ET.fromstring(_XPACKET.sub("", xmp).strip().lstrip("\ufeff"))
    except ET.ParseError:
        return None


def _mentions_orientation(xmp: str) -> bool:
    """True if a parse of ``xmp`` still finds an orientation element or attribute, or fails,
    or finds text where XMP has none (between properties, where a damaged tag's name can
    land)."""
    root = _parse(xmp)
    if root is None:
        return True
    for node in root.iter():
        names = (node.tag, *node.attrib)
        if any(_local(name).lower() == _ORIENTATION.lower() for name in names):
            return True
        if _local(node.tag) in _RDF_CONTAINERS and _holds_text(node):
            return True
    return False


def _holds_text(node: ET.Element) -> bool:
    return bool((node.text or "").strip()) or any((child.tail or "").strip() for child in node)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


# -- PNG text ------------------------------------------------------------------------------


def _png_text(image: Image.Image) -> dict[str, str]:
    """A PNG's text chunks; Pillow files them among ``info``, where no other value is text.
    (Its ``text`` attribute would decode every frame of an animation to find them.)"""
    if image.format != "PNG":
        return {}
    return {
        key: str(value)
        for key, value in image.info.items()
        if isinstance(key, str) and isinstance(value, str) and key != "XML:com.adobe.xmp"
    }
