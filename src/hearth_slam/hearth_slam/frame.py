"""The front end's data: frames, keyframes and map points, as plain numpy arrays.

Frames. Poses are ``T_world_cam`` (4x4, :mod:`hearth_slam.se3`): the rectified left camera
(optical axes: z forward, x right, y down) in the front end's world frame, which is where
:class:`~hearth_slam.visual_odometry.VisualOdometry` started (or was reset to). Keypoints are
pixels of the rectified left image; ``points_cam_m`` are in the rectified left camera frame.

Per keypoint ``i`` of a frame or keyframe: ``keypoints_px[i]`` (u, v), ``octaves[i]``,
``descriptors[i]`` (32 bytes of ORB), ``right_u_px[i]`` and ``depth_m[i]`` (NaN without a
stereo match) and ``point_ids[i]``, the map point it observes (-1: none). These are what
the back end takes: a keyframe's stereo observations of landmark ``point_ids[i] >= 0`` are
``(keypoints_px[i, 0], keypoints_px[i, 1], right_u_px[i])``, with pixel noise
``1.2 ** octaves[i]``; ``new_points[i]`` says the landmark was created by this keyframe at
``points_world_m[i]``. Keyframe and point ids never repeat within a process
(:meth:`~hearth_slam.visual_odometry.VisualOdometry.set_next_ids` continues a saved map's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hearth_slam.features import DESCRIPTOR_BYTES, Features
from hearth_slam.stereo_matching import StereoMatches


@dataclass
class Frame:
    """One stereo frame after extraction and stereo matching."""

    t_s: float
    keypoints_px: np.ndarray  # (N, 2) float32
    octaves: np.ndarray  # (N,) int8
    descriptors: np.ndarray  # (N, 32) uint8
    right_u_px: np.ndarray  # (N,) float32, NaN without stereo
    depth_m: np.ndarray  # (N,) float32, NaN without stereo
    points_cam_m: np.ndarray  # (N, 3), NaN rows without stereo
    point_ids: np.ndarray = field(default=None)  # (N,) int64, -1 = no map point
    T_world_cam: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.point_ids is None:
            self.point_ids = np.full(len(self.keypoints_px), -1, dtype=np.int64)

    @classmethod
    def from_features(cls, t_s: float, features: Features, stereo: StereoMatches,
                      points_cam_m: np.ndarray) -> Frame:
        return cls(float(t_s), features.keypoints_px, features.octaves, features.descriptors,
                   stereo.right_u_px, stereo.depth_m, points_cam_m)

    def __len__(self) -> int:
        return len(self.keypoints_px)

    @property
    def has_depth(self) -> np.ndarray:
        return np.isfinite(self.depth_m)

    @property
    def n_stereo(self) -> int:
        return int(np.count_nonzero(self.has_depth))


@dataclass
class Keyframe:
    """A frame kept for the map: its pose and every keypoint's observation."""

    id: int
    t_s: float
    T_world_cam: np.ndarray  # (4, 4)
    keypoints_px: np.ndarray
    octaves: np.ndarray
    descriptors: np.ndarray
    right_u_px: np.ndarray
    depth_m: np.ndarray
    point_ids: np.ndarray
    new_points: np.ndarray  # (N,) bool: the map point was created by this keyframe
    points_world_m: np.ndarray  # (N, 3) the observed map point's position, NaN without one
    after_loss: bool = False  # first keyframe after tracking was lost: no visual link back

    @classmethod
    def from_frame(cls, kf_id: int, frame: Frame, new_points: np.ndarray,
                   points_world_m: np.ndarray, after_loss: bool = False) -> Keyframe:
        if frame.T_world_cam is None:
            raise ValueError("a keyframe needs a frame with a pose")
        return cls(kf_id, frame.t_s, frame.T_world_cam.copy(), frame.keypoints_px,
                   frame.octaves, frame.descriptors, frame.right_u_px, frame.depth_m,
                   frame.point_ids.copy(), new_points, points_world_m, after_loss)


class MapPoints:
    """The front end's local map: 3D points in the world frame with an ORB descriptor each.

    Rows are dense arrays; ``ids`` are unique and never reused. ``n_visible`` counts the
    frames in which a point projected into the image, ``n_found`` those in which it was
    matched: a point found in few of the frames that should see it is culled.
    """

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.positions_world_m = np.zeros((0, 3))
        self.descriptors = np.zeros((0, DESCRIPTOR_BYTES), dtype=np.uint8)
        self.keyframe_id = np.zeros(0, dtype=np.int64)  # the keyframe that created it
        self.last_seen_keyframe = np.zeros(0, dtype=np.int64)
        self.n_visible = np.zeros(0, dtype=np.int64)
        self.n_found = np.zeros(0, dtype=np.int64)
        self._next_id = 0

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, positions_world_m: np.ndarray, descriptors: np.ndarray, kf_id: int
            ) -> np.ndarray:
        """New points; returns their ids."""
        n = len(positions_world_m)
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        self.ids = np.concatenate([self.ids, ids])
        self.positions_world_m = np.concatenate([self.positions_world_m, positions_world_m])
        self.descriptors = np.concatenate([self.descriptors, descriptors])
        self.keyframe_id = np.concatenate([self.keyframe_id, np.full(n, kf_id, np.int64)])
        self.last_seen_keyframe = np.concatenate(
            [self.last_seen_keyframe, np.full(n, kf_id, np.int64)])
        self.n_visible = np.concatenate([self.n_visible, np.ones(n, np.int64)])
        self.n_found = np.concatenate([self.n_found, np.ones(n, np.int64)])
        return ids

    @property
    def next_id(self) -> int:
        return self._next_id

    def reserve_ids(self, next_id: int) -> None:
        """New points get ids from ``next_id`` on (never lower than ids already given)."""
        self._next_id = max(self._next_id, int(next_id))

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row index of each id (-1 for ids no longer in the map)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        # ids stay sorted: added in increasing order, rows only ever removed
        pos = np.clip(np.searchsorted(self.ids, ids), 0, len(self.ids) - 1)
        found = self.ids[pos] == ids
        return np.where(found, pos, -1)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` is False."""
        for name in ("ids", "positions_world_m", "descriptors", "keyframe_id",
                     "last_seen_keyframe", "n_visible", "n_found"):
            setattr(self, name, getattr(self, name)[mask])

    def clear(self) -> None:
        self.keep(np.zeros(len(self.ids), dtype=bool))
