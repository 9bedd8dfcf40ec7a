"""One image's files: reading hostile files safely, metadata, encoding, atomic writes,
presets, and the library's entries for one image."""
