"""Loading map_server maps: good files give the grid map_server would, bad ones one clear error."""

import math

import numpy as np
import pytest

from hearth_planning.map_io import MapError, OccupancyMap, load_map, read_pgm, write_pgm

GOOD_YAML = """\
image: room.pgm
resolution: 0.05
origin: [-1.0, -2.0, 0.0]
negate: 0
occupied_thresh: 0.65
free_thresh: 0.196
"""


def _image():
    # 3 rows x 4 columns, image row 0 at the top: black = occupied, white = free, grey = unknown.
    return np.array(
        [
            [0, 254, 254, 205],
            [254, 254, 254, 254],
            [254, 254, 0, 254],
        ],
        dtype=np.uint8,
    )


def _write_map(tmp_path, yaml_text=GOOD_YAML, pixels=None):
    write_pgm(tmp_path / "room.pgm", _image() if pixels is None else pixels)
    path = tmp_path / "room.yaml"
    path.write_text(yaml_text)
    return path


def test_good_map_gives_the_trinary_grid_bottom_row_first(tmp_path):
    m = load_map(_write_map(tmp_path))
    assert isinstance(m, OccupancyMap)
    assert (m.height, m.width) == (3, 4)
    assert m.resolution_m == pytest.approx(0.05)
    assert (m.origin_x_m, m.origin_y_m, m.origin_yaw_rad) == (-1.0, -2.0, 0.0)
    assert m.data.dtype == np.int8
    # grid row 0 is the image's bottom row
    np.testing.assert_array_equal(
        m.data,
        [
            [0, 0, 100, 0],
            [0, 0, 0, 0],
            [100, 0, 0, -1],
        ],
    )


def test_negate_swaps_black_and_white(tmp_path):
    m = load_map(_write_map(tmp_path, GOOD_YAML.replace("negate: 0", "negate: 1")))
    assert m.data[2, 0] == 0  # black is free when negated
    assert m.data[1, 1] == 100


def test_scale_mode_grades_cells_between_the_thresholds(tmp_path):
    pixels = np.array([[0, 128, 255]], dtype=np.uint8)
    text = GOOD_YAML.replace("free_thresh: 0.196", "free_thresh: 0.25") + "mode: scale\n"
    m = load_map(_write_map(tmp_path, text, pixels))
    occ = 1.0 - 128 / 255
    expected_mid = round(100 * (occ - 0.25) / (0.65 - 0.25))
    np.testing.assert_array_equal(m.data, [[100, expected_mid, 0]])


def test_ascii_pgm_and_sixteen_bit_maxval_are_read(tmp_path):
    (tmp_path / "a.pgm").write_text("P2\n# a comment\n3 2\n1000\n0 500 1000\n1000 1000 0\n")
    pixels, maxval = read_pgm(tmp_path / "a.pgm")
    assert maxval == 1000
    np.testing.assert_array_equal(pixels, [[0, 500, 1000], [1000, 1000, 0]])
    write_pgm(tmp_path / "b.pgm", np.array([[0, 300], [65535, 7]]), maxval=65535)
    pixels, maxval = read_pgm(tmp_path / "b.pgm")
    np.testing.assert_array_equal(pixels, [[0, 300], [65535, 7]])


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (GOOD_YAML.replace("resolution: 0.05", "resolution: 0"), "'resolution' must be positive"),
        (GOOD_YAML.replace("resolution: 0.05", "resolution: .nan"), "'resolution' must be finite"),
        (
            GOOD_YAML.replace("resolution: 0.05", "resolution: fine"),
            "'resolution' must be a number",
        ),
        (GOOD_YAML.replace("resolution: 0.05\n", ""), "missing key 'resolution'"),
        (GOOD_YAML.replace("image: room.pgm\n", ""), "missing key 'image'"),
        (GOOD_YAML.replace("[-1.0, -2.0, 0.0]", "[-1.0, -2.0]"), "'origin' must be [x, y, yaw]"),
        (GOOD_YAML.replace("free_thresh: 0.196", "free_thresh: 0.7"), "free_thresh < occupied"),
        (GOOD_YAML + "mode: raw\n", "'mode' 'raw' is not supported"),
        (GOOD_YAML.replace("room.pgm", "missing.pgm"), "cannot read map image"),
        ("image: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_corrupt_yaml_gives_one_clear_error(tmp_path, yaml_text, message):
    path = _write_map(tmp_path, yaml_text)
    with pytest.raises(MapError) as err:
        load_map(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_yaml_file(tmp_path):
    with pytest.raises(MapError, match="cannot read map file"):
        load_map(tmp_path / "nope.yaml")


def test_truncated_pgm_is_rejected(tmp_path):
    path = _write_map(tmp_path)
    image = tmp_path / "room.pgm"
    image.write_bytes(image.read_bytes()[:-3])
    with pytest.raises(MapError, match=r"12 bytes of data, found 9 \(truncated\)"):
        load_map(path)


def test_pgm_with_extra_data_or_wrong_size_is_rejected(tmp_path):
    path = _write_map(tmp_path)
    image = tmp_path / "room.pgm"
    image.write_bytes(image.read_bytes().replace(b"4 3", b"4 2"))
    with pytest.raises(MapError, match="extra data"):
        load_map(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n", "not a PGM file"),
        (b"P5\n4", "malformed PGM header"),
        (b"P5\n0 3\n255\n", "is empty"),
        (b"P5\n1 1\n70000\n\x00", "maxval 70000"),
        (b"P2\n2 1\n255\n0 300\n", "outside 0..maxval"),
        (b"P2\n2 1\n255\n0\n", "2x1 pixels expected, found 1 values"),
        (b"", "not a PGM file"),
    ],
)
def test_unreadable_images_give_one_clear_error(tmp_path, content, message):
    path = _write_map(tmp_path)
    (tmp_path / "room.pgm").write_bytes(content)
    with pytest.raises(MapError) as err:
        load_map(path)
    assert message in str(err.value)


def test_occupancy_map_rejects_bad_values():
    with pytest.raises(MapError, match="resolution"):
        OccupancyMap(np.zeros((2, 2), np.int8), resolution_m=math.nan)
    with pytest.raises(MapError, match=r"-1\.\.100"):
        OccupancyMap(np.array([[0, 101]]), resolution_m=0.1)
    with pytest.raises(MapError, match="non-empty"):
        OccupancyMap(np.zeros((0, 3), np.int8), resolution_m=0.1)
