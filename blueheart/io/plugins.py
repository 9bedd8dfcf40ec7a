"""The image formats blueheart reads and writes, registered with Pillow (reader and writer)
by importing their plugins: ``Image.init()`` would import all 47, 33 ms in every batch worker.
Imported by the modules that open or save images, not by the package: the command line reads
presets without Pillow."""

from __future__ import annotations

from PIL import (  # noqa: F401
    AvifImagePlugin,
    BmpImagePlugin,
    GifImagePlugin,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)
