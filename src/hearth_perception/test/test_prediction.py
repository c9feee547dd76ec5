"""Constant-velocity prediction: means move with the velocity, covariances are the CV model's
(closed form = step-by-step Kalman prediction) and grow; a calibrated model puts 39.3 % /
86.5 % of truths inside its 1- / 2-sigma ellipses."""

import numpy as np
import pytest

from hearth_perception.cv_model import kf_predict, kf_update, process_noise, transition
from hearth_perception.prediction import (
    estimate_from_window,
    intent_covariance,
    last_step_velocity,
    mahalanobis_sq_2d,
    predict_constant_velocity,
    sigma_ellipses,
)


def _people(n=3, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(n, 2))
    v = rng.normal(size=(n, 2))
    A = rng.normal(size=(n, 4, 4)) * 0.1
    P = A @ np.swapaxes(A, 1, 2) + 0.01 * np.eye(4)
    return p, v, P


def test_means_move_with_constant_velocity_and_shapes_are_people_by_steps():
    p, v, P = _people()
    means, covs = predict_constant_velocity(p, v, P, horizon_steps=30, dt_s=0.1)
    assert means.shape == (3, 30, 2) and covs.shape == (3, 30, 2, 2)
    t = 0.1 * np.arange(1, 31)
    np.testing.assert_allclose(means, p[:, None] + v[:, None] * t[None, :, None])


def test_closed_form_equals_step_by_step_kalman_prediction():
    p, v, P = _people()
    q, dt = 0.4, 0.25
    _, covs = predict_constant_velocity(p, v, P, 8, dt, accel_psd_m2ps3=q)
    x = np.column_stack([p, v])
    Pk = P.copy()
    for k in range(8):
        x, Pk = kf_predict(x, Pk, dt, q)
        np.testing.assert_allclose(covs[:, k], Pk[:, :2, :2], atol=1e-12)
        np.testing.assert_allclose(x[:, :2], p + v * dt * (k + 1), atol=1e-12)


def test_uncertainty_grows_with_time_even_from_a_certain_start():
    p, v, _ = _people()
    _, covs = predict_constant_velocity(p, v, np.zeros((3, 4, 4)), 12, 0.4)
    trace = np.trace(covs, axis1=-2, axis2=-1)
    assert np.all(np.diff(trace, axis=1) > 0.0)
    _, none = predict_constant_velocity(p, v, np.zeros((3, 4, 4)), 12, 0.4, accel_psd_m2ps3=0.0)
    assert np.all(none == 0.0)


def test_start_offset_predicts_from_when_the_plan_takes_effect():
    p, v, P = _people()
    late, late_cov = predict_constant_velocity(p, v, P, 5, 0.1, start_s=0.3)
    ref, ref_cov = predict_constant_velocity(p, v, P, 8, 0.1)
    np.testing.assert_allclose(late, ref[:, 3:])
    np.testing.assert_allclose(late_cov, ref_cov[:, 3:])


def test_no_people_gives_empty_arrays():
    means, covs = predict_constant_velocity(np.zeros((0, 2)), np.zeros((0, 2)),
                                            np.zeros((0, 4, 4)), 4, 0.5)
    assert means.shape == (0, 4, 2) and covs.shape == (0, 4, 2, 2)


@pytest.mark.parametrize("bad", ["nan", "shape", "dt", "steps"])
def test_bad_input_is_a_clear_error(bad):
    p, v, P = _people()
    kwargs = {"horizon_steps": 5, "dt_s": 0.1}
    if bad == "nan":
        p[1, 0] = np.nan
    elif bad == "shape":
        P = P[:, :2, :2]
    elif bad == "dt":
        kwargs["dt_s"] = 0.0
    else:
        kwargs["horizon_steps"] = 0
    with pytest.raises(ValueError):
        predict_constant_velocity(p, v, P, **kwargs)


def test_a_true_cv_process_lands_inside_the_sigma_ellipses_as_often_as_a_gaussian_should():
    """Monte Carlo of the model itself: truths drawn from the CV process with white
    acceleration, starting from N(x0, P0), fall inside 1 sigma 39.3 % and 2 sigma 86.5 %."""
    rng = np.random.default_rng(7)
    n, q, dt, steps = 20000, 0.5, 0.4, 12
    P0 = np.diag([0.04, 0.02, 0.09, 0.05])
    x0 = np.array([1.0, 2.0, 0.8, -0.3])
    truth = rng.multivariate_normal(x0, P0, size=n)
    F, Q = transition(dt), process_noise(dt, q)
    Lq = np.linalg.cholesky(Q)
    means, covs = predict_constant_velocity(x0[None, :2], x0[None, 2:], P0[None], steps, dt,
                                            accel_psd_m2ps3=q)
    inside1, inside2 = [], []
    for k in range(steps):
        truth = truth @ F.T + rng.normal(size=(n, 4)) @ Lq.T
        d2 = mahalanobis_sq_2d(truth[:, :2] - means[0, k], covs[0, k])
        inside1.append(np.mean(d2 <= 1.0))
        inside2.append(np.mean(d2 <= 4.0))
    assert np.mean(inside1) == pytest.approx(1 - np.exp(-0.5), abs=0.01)
    assert np.mean(inside2) == pytest.approx(1 - np.exp(-2.0), abs=0.01)


def test_window_filter_recovers_a_straight_walk_and_the_peer_uses_the_last_step():
    t = 0.4 * np.arange(8)
    walk = np.stack([1.0 + 1.2 * t, -0.5 * t], axis=-1)[None]  # (1, 8, 2)
    p, v, P = estimate_from_window(walk, 0.4)
    np.testing.assert_allclose(p[0], walk[0, -1], atol=1e-3)
    np.testing.assert_allclose(v[0], [1.2, -0.5], atol=2e-2)
    assert np.all(np.linalg.eigvalsh(P[0]) > 0.0)
    _, v2 = last_step_velocity(walk, 0.4)
    np.testing.assert_allclose(v2[0], [1.2, -0.5])


def test_kalman_update_pulls_towards_the_measurement_and_shrinks_the_covariance():
    x = np.array([[0.0, 0.0, 1.0, 0.0]])
    P = np.eye(4)[None] * 1.0
    x2, P2 = kf_update(x, P, np.array([[1.0, 0.0]]), np.eye(2) * 1.0)
    assert x2[0, 0] == pytest.approx(0.5)
    assert np.trace(P2[0]) < np.trace(P[0])
    np.testing.assert_allclose(P2, np.swapaxes(P2, 1, 2))


def test_sigma_ellipse_points_are_one_mahalanobis_unit_away():
    _, _, P = _people()
    pts = sigma_ellipses(np.zeros((3, 2)), P[:, :2, :2], n_points=16)
    assert pts.shape == (3, 17, 2)
    d2 = mahalanobis_sq_2d(pts, P[:, None, :2, :2])
    np.testing.assert_allclose(d2, 1.0, atol=1e-9)


def test_intent_uncertainty_is_speed_along_the_walk_and_heading_across_it():
    P = intent_covariance(np.array([[2.0, 0.0], [0.0, 0.0]]), speed_std_mps=0.1,
                          heading_std_rad=0.2)
    assert P.shape == (2, 4, 4) and np.all(P[:, :2, :] == 0.0)
    np.testing.assert_allclose(P[0, 2:, 2:], np.diag([0.1**2, (2.0 * 0.2) ** 2]))
    np.testing.assert_allclose(P[1, 2:, 2:], np.diag([0.1**2, 0.1**2]))  # standing still
    _, covs = predict_constant_velocity(np.zeros((1, 2)), np.array([[2.0, 0.0]]), P[:1], 3, 1.0,
                                        accel_psd_m2ps3=0.0)
    np.testing.assert_allclose(covs[0, 2], np.diag([0.1**2, 0.4**2]) * 9.0)  # grows as t²
