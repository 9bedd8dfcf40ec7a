"""Benchmarks: blueheart against the floor (plain decode + encode), ImageMagick and libvips."""
