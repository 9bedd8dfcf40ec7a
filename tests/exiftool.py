"""exiftool as an independent judge of what metadata a file holds (tests of the privacy promise
in tests/io/test_metadata.py, of the service's downloads in tests/web/test_app.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="exiftool is not installed (Debian/Ubuntu: apt-get install libimage-exiftool-perl)",
)
FILE_GROUPS = {"SourceFile", "ExifTool", "System", "File", "JFIF", "PNG", "RIFF", "Composite"}
"""exiftool's groups for the file itself and values it computes, not metadata it read."""


def every_tag(path: Path) -> dict[str, object]:
    """Every tag exiftool finds in ``path``, by ``group:name``: duplicates (-a), unknown and
    unknown binary tags (-U) and binary values (-b) included."""
    assert EXIFTOOL is not None
    listing = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-U", "-G1", "-b", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    tags: dict[str, object] = json.loads(listing.stdout)[0]
    return tags
