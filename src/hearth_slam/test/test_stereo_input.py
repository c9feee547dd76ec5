"""Getting pairs to the front end: image fields to arrays, exact-stamp pairing, and a
tracking thread that always works on the newest pair."""

import threading
import time

import numpy as np
import pytest

from hearth_slam.stereo_input import LatestPairWorker, StereoPair, StereoPairer, mono8_from_fields


def test_mono8_fields_become_an_array_and_padding_is_cut():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    padded = np.zeros((3, 6), np.uint8)
    padded[:, :4] = img
    assert (mono8_from_fields("mono8", 3, 4, 6, padded.tobytes()) == img).all()
    for bad in (("rgb8", 3, 4, 4, img.tobytes()), ("mono8", 3, 4, 4, img.tobytes()[:-1]),
                ("mono8", 0, 4, 4, b""), ("mono8", 3, 4, 2, img.tobytes())):
        with pytest.raises(ValueError):
            mono8_from_fields(*bad)


def test_pairs_form_on_identical_stamps_and_orphans_are_dropped():
    p = StereoPairer()
    assert p.add("left", 100, "L100") is None
    assert p.add("left", 200, "L200") is None
    assert p.add("right", 300, "R300") is None
    pair = p.add("right", 200, "R200")
    assert pair == StereoPair(200, "L200", "R200")
    assert p.unpaired_dropped == 1  # L100 can no longer be completed
    assert p.add("left", 300, "L300") == StereoPair(300, "L300", "R300")
    with pytest.raises(ValueError):
        p.add("middle", 1, None)


def test_the_worker_takes_the_newest_pair_and_survives_errors():
    seen, errors = [], []
    gate = threading.Event()

    def process(pair):
        gate.wait(5.0)
        if pair.stamp_ns == 3:
            raise RuntimeError("bad frame")
        seen.append(pair.stamp_ns)

    worker = LatestPairWorker(process, errors.append)
    try:
        worker.submit(StereoPair(1, None, None))
        time.sleep(0.1)  # the thread is now inside process(1), waiting at the gate
        worker.submit(StereoPair(2, None, None))
        worker.submit(StereoPair(3, None, None))  # overtakes 2
        worker.submit(StereoPair(4, None, None))  # overtakes 3
        gate.set()
        deadline = time.monotonic() + 5.0
        while worker.processed < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == [1, 4] and worker.dropped == 2
        worker.submit(StereoPair(3, None, None))
        while worker.processed < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(errors) == 1 and "bad frame" in str(errors[0])
    finally:
        worker.stop()
    assert not worker._thread.is_alive()
