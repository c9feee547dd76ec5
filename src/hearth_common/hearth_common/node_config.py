"""Declaring a node's config dataclass as ROS parameters, and running a node.

The node declares every field with its description and range, reads the values (from the
params file given at launch), and validates them with the same rules as
:func:`hearth_common.config.load_config`. A bad file stops the node at start with one line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import rclpy
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
    ParameterException,
)
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.config import (
    ROS_BUILTIN_PARAMETERS,
    ConfigError,
    FieldInfo,
    check_value,
    config_fields,
    element_type,
    load_config,
)

C = TypeVar("C")


def _descriptor(info: FieldInfo) -> ParameterDescriptor:
    spec = info.spec
    # Floats accept integers in YAML (`rate_hz: 20`): typing is checked by check_value instead.
    desc = ParameterDescriptor(
        description=spec.description, read_only=True, dynamic_typing=info.type is float
    )
    if spec.choices is not None:
        desc.additional_constraints = "one of: " + ", ".join(map(str, spec.choices))
    # rclpy enforces a range only when both ends are set; open ends are checked by us.
    if spec.min is not None and spec.max is not None:
        if info.type is float:
            desc.floating_point_range = [
                FloatingPointRange(from_value=float(spec.min), to_value=float(spec.max), step=0.0)
            ]
        elif info.type is int:
            desc.integer_range = [
                IntegerRange(from_value=int(spec.min), to_value=int(spec.max), step=0)
            ]
    if spec.min is not None and spec.max is None:
        desc.additional_constraints = f">= {spec.min}"
    if spec.max is not None and spec.min is None:
        desc.additional_constraints = f"<= {spec.max}"
    return desc


def declare_config(node: Node, cls: type[C]) -> C:
    """Declare each field of ``cls`` on ``node`` and return the validated config.

    Raises ConfigError for an unknown key in the node's parameter overrides, a wrong type,
    or a value out of range.
    """
    fields = config_fields(cls)
    overrides = getattr(node, "_parameter_overrides", {})  # what the params file / CLI gave
    values = {}
    for info in fields:
        try:
            p = node.declare_parameter(info.name, _declared_value(info), _descriptor(info))
        except (InvalidParameterTypeException, InvalidParameterValueException,
                ParameterException) as exc:
            # Re-check the given value ourselves for a message in the same words as
            # load_config's; fall back to rclpy's own.
            if info.name in overrides:
                check_value(info, overrides[info.name].value)
            raise ConfigError(f"parameter '{info.name}': {exc}") from exc
        values[info.name] = check_value(info, p.value if p.value is not None else info.default)
    declared = {f.name for f in fields}
    ignored = declared | ROS_BUILTIN_PARAMETERS
    unknown = sorted(k for k in overrides if k not in ignored and not k.startswith("qos_"))
    if unknown:
        raise ConfigError(
            f"unknown parameter '{unknown[0]}' (known: {', '.join(sorted(declared))})"
        )
    node.add_on_set_parameters_callback(_read_only)
    return load_config(cls, values)


_ARRAY_TYPES = {
    bool: Parameter.Type.BOOL_ARRAY,
    int: Parameter.Type.INTEGER_ARRAY,
    float: Parameter.Type.DOUBLE_ARRAY,
    str: Parameter.Type.STRING_ARRAY,
}


def _declared_value(info: FieldInfo):
    """The default, or for an empty list its array type (rclpy cannot infer it from [])."""
    if isinstance(info.default, list) and not info.default:
        return _ARRAY_TYPES[element_type(info.type)]
    return info.default


def _read_only(params) -> SetParametersResult:
    names = ", ".join(p.name for p in params if p.name not in ROS_BUILTIN_PARAMETERS)
    if not names:
        return SetParametersResult(successful=True)
    return SetParametersResult(
        successful=False,
        reason=f"{names}: hearth nodes read their parameters once at start; restart the node",
    )


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Create the node, spin it until shutdown, and turn a config error into one clear line.

    Returns the process exit code (0, or 2 for a configuration error) so that a console-script
    ``main`` is ``sys.exit(run_node(MyNode, "my_node"))``.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
    except ConfigError as exc:
        print(f"[{name}] configuration error: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
