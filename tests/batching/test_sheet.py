"""Contact sheets of a folder: pages, captions, the circular mask, unreadable files, the
overwrite rules and faces outlined only when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import photo
from PIL import Image

from blueheart import OutputExistsError, contact_sheet, write_contact_sheets
from blueheart.batching import sheet
from blueheart.batching.sheet import (
    CAPTION_COLOUR,
    CAPTION_HEIGHT,
    FACE_MARK,
    GAP,
    SHEET_BACKGROUND,
    UNREADABLE_MARK,
)
from blueheart.core.faces import Face

RED = (220, 30, 30)


def red_photos(folder: Path, count: int) -> list[Path]:
    """``count`` plain red PNGs in ``folder``, named 0.png, 1.png, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{index}.png" for index in range(count)]
    for path in paths:
        Image.new("RGB", (120, 80), RED).save(path)
    return paths


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_pages_hold_at_most_per_page_tiles_in_a_near_square_grid(tmp_path: Path) -> None:
    red_photos(tmp_path / "photos", 5)
    report = write_contact_sheets(tmp_path / "photos", tmp_path / "sheet.png", per_page=2, cell=40)
    assert report.pages == tuple(tmp_path / f"sheet-00{n}.png" for n in (1, 2, 3))
    assert (report.shown, report.unreadable, report.exit_code) == (5, (), 0)
    assert report.summary() == "5 images on 3 pages"
    tile_height = 40 + CAPTION_HEIGHT + GAP
    assert Image.open(report.pages[0]).size == (GAP + 2 * (40 + GAP), GAP + tile_height)
    assert Image.open(report.pages[2]).size == (GAP + 40 + GAP, GAP + tile_height)


def test_a_folder_without_images_writes_no_page(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    report = write_contact_sheets(tmp_path / "photos", tmp_path / "sheet.png")
    assert (report.pages, report.summary()) == ((), "0 images on 0 pages")
    assert not list(tmp_path.glob("sheet*"))


def test_each_tile_shows_the_circle_a_platform_keeps_and_dims_the_rest(tmp_path: Path) -> None:
    [path] = red_photos(tmp_path, 1)
    page = np.asarray(contact_sheet([path], cell=100)).astype(int)
    centre = page[GAP + 50, GAP + 50]
    corner = page[GAP + 2, GAP + 2]  # outside the inscribed circle
    dimmed = 0.2 * np.array(RED) + 0.8 * np.array(SHEET_BACKGROUND)
    assert np.abs(centre - RED).max() <= 2
    assert np.abs(corner - dimmed).max() <= 2


def caption_ink(page: np.ndarray, cell: int) -> int:
    """How many pixels of the first tile's caption band are not the background."""
    band = page[GAP + cell : GAP + cell + CAPTION_HEIGHT, GAP : GAP + cell]
    return int((band != SHEET_BACKGROUND).any(axis=2).sum())


def test_tiles_are_captioned_with_the_path_below_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    [path] = red_photos(folder / "day 1", 1)
    report = write_contact_sheets(folder, tmp_path / "sheet.png", cell=100)
    full = caption_ink(pixels(report.pages[0]), 100)  # "day 1/0.png"
    short = caption_ink(np.asarray(contact_sheet([path], cell=100, root=path.parent)), 100)
    assert 0 < short < full  # "0.png"
    page = np.asarray(contact_sheet([path], cell=100)).astype(int)
    assert caption_ink(page, 100) == short  # no root: the file's name
    darkest = page[GAP + 100 : GAP + 100 + CAPTION_HEIGHT, GAP : GAP + 100].sum(axis=2).min()
    assert darkest <= sum(CAPTION_COLOUR) + 60  # ink in the caption's colour


def test_an_unreadable_file_gets_a_crossed_out_tile_and_is_listed(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    red_photos(folder, 1)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    report = write_contact_sheets(folder, tmp_path / "sheet.png", cell=60, columns=2)
    assert [path.name for path, _ in report.unreadable] == ["broken.jpg"]
    assert str(folder / "broken.jpg") in report.unreadable[0][1]
    assert "\n" not in report.unreadable[0][1]
    assert (report.shown, report.exit_code) == (1, 1)
    assert report.summary() == "1 image on 1 page, 1 unreadable"
    page = pixels(report.pages[0])
    left = GAP + 60 + GAP  # the second tile: broken.jpg sorts after 0.png
    diagonal = [page[GAP + step, left + step] for step in range(5, 55, 10)]
    assert all((pixel == UNREADABLE_MARK).all() for pixel in diagonal)


def test_a_page_is_never_replaced_without_overwrite(tmp_path: Path) -> None:
    red_photos(tmp_path / "photos", 3)
    page = tmp_path / "sheet-001.png"
    page.write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match=r"sheet-001\.png: exists"):
        write_contact_sheets(tmp_path / "photos", tmp_path / "sheet.png")
    assert page.read_bytes() == b"mine"
    report = write_contact_sheets(tmp_path / "photos", tmp_path / "sheet.png", overwrite=True)
    assert report.pages == (page,) and Image.open(page).size[0] > 0


def test_earlier_pages_in_the_folder_are_not_drawn_again(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    red_photos(folder, 2)
    first = write_contact_sheets(folder, folder / "sheet.png", cell=40)
    again = write_contact_sheets(folder, folder / "sheet.png", cell=40, overwrite=True)
    assert first.shown == again.shown == 2
    assert again.pages == first.pages == (folder / "sheet-001.png",)


def test_faces_are_outlined_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []

    def one_face(image: Image.Image) -> tuple[Face, ...]:
        asked.append(image)
        return (Face((20, 20, 60, 60), 0.9),)

    monkeypatch.setattr(sheet, "detect_faces", one_face)
    path = tmp_path / "portrait.png"
    photo(200, 200, seed=3).save(path)
    plain = np.asarray(contact_sheet([path], cell=200)).astype(int)
    assert asked == []  # off by default: the detector is never run
    assert not (plain == FACE_MARK).all(axis=2).any()
    marked = np.asarray(contact_sheet([path], cell=200, show_faces=True)).astype(int)
    assert len(asked) == 1
    outline = (marked == FACE_MARK).all(axis=2)
    assert outline[GAP + 20, GAP + 20 : GAP + 60].all()


def test_a_16_bit_grey_photo_is_drawn_as_its_greys(tmp_path: Path) -> None:
    # Its tile was all white: 16-bit values clipped to 255.
    ramp = np.linspace(0, 65535, 200 * 100).reshape(100, 200).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    tile = np.asarray(contact_sheet([tmp_path / "deep.png"], cell=100).convert("L"))
    inside = tile[30:70, 30:70]  # within the circle, away from the caption
    assert inside.min() < 100 and inside.max() > 150
