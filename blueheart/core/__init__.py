"""The core: options, geometry, the emblem and compositing. Pure: images and values in,
images and values out; no paths, no files."""
