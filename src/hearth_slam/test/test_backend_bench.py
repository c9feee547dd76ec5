"""The bench's back-end figures are produced (their values are measured, never asserted)."""

from hearth_slam.backend_bench import measure


def test_measure_reports_the_figures_the_slam_bench_prints():
    out = measure(n_keyframes=30, measure_stall=False)
    for key in ("backend_ms_per_keyframe_median", "backend_ms_per_keyframe_p95",
                "memory_per_keyframe_kb", "map_file_kb_per_keyframe"):
        assert isinstance(out[key], float)
    assert out["backend_keyframes"] == 30 and out["backend_keyframes_kept"] <= 30
