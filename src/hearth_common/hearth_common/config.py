"""Typed node configuration: one frozen dataclass per node, validated once at start-up.

Each node describes its parameters as a dataclass whose fields are made with :func:`param`
(default, description, range or choices). The same class is used three ways:

* the rclpy node declares every field as a ROS parameter, with its description and range
  (:mod:`hearth_common.node_config`);
* ROS-free code and tests build it from a plain dict with :func:`load_config`;
* the launch-file test checks that every key of a node's YAML is a field of its class.

Any problem (unknown key, wrong type, out of range, NaN) raises :class:`ConfigError` whose
message is one line naming the key and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")

# Parameters every rclpy node accepts without declaring them itself.
ROS_BUILTIN_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type, or out of range."""


@dataclass(frozen=True)
class ParamSpec:
    """What a parameter means and which values it accepts (bounds are inclusive)."""

    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None


def param(
    default: Any,
    description: str,
    *,
    min: float | None = None,  # noqa: A002 - reads naturally at the call site
    max: float | None = None,  # noqa: A002
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A dataclass field carrying its parameter description and admissible values."""
    spec = ParamSpec(description, min, max, tuple(choices) if choices is not None else None)
    if isinstance(default, list):
        frozen = list(default)
        return dataclasses.field(default_factory=lambda: list(frozen), metadata={"hearth": spec})
    return dataclasses.field(default=default, metadata={"hearth": spec})


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: type
    default: Any
    spec: ParamSpec


_SCALARS = (bool, int, float, str)


def config_fields(cls: type) -> list[FieldInfo]:
    """The parameters of a config dataclass, in declaration order."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a config dataclass")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("hearth")
        if spec is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not made with hearth_common.config.param")
        has_default = f.default is not dataclasses.MISSING
        default = f.default if has_default else f.default_factory()  # type: ignore[misc]
        out.append(FieldInfo(f.name, hints[f.name], default, spec))
    return out


def element_type(tp: Any) -> type | None:
    """``list[float]`` -> ``float``; ``None`` for scalar types."""
    if typing.get_origin(tp) in (list, tuple):
        (arg, *_) = typing.get_args(tp)
        return arg
    return None


def _check_scalar(name: str, tp: type, value: Any) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"parameter '{name}': expected a bool, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"parameter '{name}': expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"parameter '{name}': expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"parameter '{name}': must be finite, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"parameter '{name}': expected a string, got {value!r}")
        return value
    raise TypeError(f"parameter '{name}': unsupported type {tp!r}")


def _check_bounds(name: str, spec: ParamSpec, value: Any) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if spec.min is not None and value < spec.min:
            raise ConfigError(f"parameter '{name}' = {value!r} is below its minimum {spec.min!r}")
        if spec.max is not None and value > spec.max:
            raise ConfigError(f"parameter '{name}' = {value!r} is above its maximum {spec.max!r}")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(
            f"parameter '{name}' = {value!r} is not one of {', '.join(map(repr, spec.choices))}"
        )


def check_value(info: FieldInfo, value: Any) -> Any:
    """Type-check and range-check one value; returns it converted (int -> float where due)."""
    elem = element_type(info.type)
    if elem is None:
        value = _check_scalar(info.name, info.type, value)
        _check_bounds(info.name, info.spec, value)
        return value
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"parameter '{info.name}': expected a list, got {value!r}")
    items = [_check_scalar(f"{info.name}[{i}]", elem, v) for i, v in enumerate(value)]
    for i, v in enumerate(items):
        _check_bounds(f"{info.name}[{i}]", info.spec, v)
    return items


def load_config(cls: type[C], values: Mapping[str, Any] | None = None) -> C:
    """Build a config from ``values`` (missing keys take their defaults) and validate it.

    Cross-field rules live in the dataclass's ``__post_init__`` and raise ConfigError too.
    """
    values = dict(values or {})
    fields = {f.name: f for f in config_fields(cls)}
    unknown = sorted(set(values) - set(fields) - ROS_BUILTIN_PARAMETERS)
    if unknown:
        raise ConfigError(
            f"unknown parameter '{unknown[0]}' (known: {', '.join(sorted(fields))})"
        )
    kwargs = {name: check_value(f, values.get(name, f.default)) for name, f in fields.items()}
    return cls(**kwargs)


def read_params_file(path: str | Path, node_name: str) -> dict[str, Any]:
    """The ``ros__parameters`` a ROS params YAML gives ``node_name`` (``/**`` entries too).

    Nested mappings are flattened to dotted names, as ROS does.
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read params file {path}: {exc}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"params file {path}: top level must be a mapping of node names")
    merged: dict[str, Any] = {}
    for key in ("/**", node_name, "/" + node_name.lstrip("/")):
        section = doc.get(key)
        if section is None:
            continue
        if not isinstance(section, dict) or not isinstance(section.get("ros__parameters"), dict):
            raise ConfigError(f"params file {path}: '{key}' has no 'ros__parameters' mapping")
        merged.update(_flatten(section["ros__parameters"]))
    return merged


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, name + "."))
        else:
            out[name] = v
    return out
