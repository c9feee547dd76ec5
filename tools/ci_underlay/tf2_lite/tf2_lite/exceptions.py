"""The tf2 exception family, with the names and hierarchy tf2_ros re-exports from tf2_py.

Callers written against tf2_ros (``except tf2_ros.TransformException``) work unchanged.
"""

from __future__ import annotations


class TransformException(Exception):  # noqa: N818  (name fixed by tf2_ros)
    """Base of every error a transform lookup can raise."""


class LookupException(TransformException):
    """A frame that was asked for is not known to the buffer."""


class ConnectivityException(TransformException):
    """The two frames are known but lie in trees that are not connected."""


class ExtrapolationException(TransformException):
    """The lookup time lies outside the data buffered for some link of the chain."""


class InvalidArgumentException(TransformException):
    """An argument is malformed (empty frame id, frame id starting with '/', ...)."""


class TimeoutException(TransformException):
    """A blocking wait for a transform ran out (kept for tf2_ros compatibility)."""
