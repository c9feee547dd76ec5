"""Declaring a config as ROS parameters on a real rclpy node."""

from dataclasses import dataclass

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.config import ConfigError, param
from hearth_common.node_config import declare_config
from hearth_common.testing import ros_context


@dataclass(frozen=True)
class NodeExampleConfig:
    rate_hz: float = param(10.0, "Cycle rate", min=1.0, max=100.0)
    window: int = param(5, "Samples kept", min=1, max=50)
    mode: str = param("normal", "Operating mode", choices=("normal", "low"))
    topics: list[str] = param([], "Topics (none by default)")


def _declare(overrides):
    with ros_context() as ctx:
        node = Node("example", context=ctx, parameter_overrides=overrides)
        try:
            return declare_config(node, NodeExampleConfig), node.describe_parameter("rate_hz")
        finally:
            node.destroy_node()


def test_parameters_are_declared_with_descriptions_and_ranges():
    cfg, descriptor = _declare([Parameter("rate_hz", value=20)])
    assert cfg.rate_hz == 20.0
    assert descriptor.description == "Cycle rate"
    assert descriptor.floating_point_range[0].to_value == 100.0
    assert descriptor.read_only


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (Parameter("rate_hz", value=500.0), "'rate_hz' = 500.0 is above its maximum 100.0"),
        (Parameter("rate_hz", value="fast"), "'rate_hz': expected a number"),
        (Parameter("window", value=0), "'window' = 0 is below its minimum 1"),
        (Parameter("mode", value="turbo"), "is not one of"),
        (Parameter("rate_hx", value=10.0), "unknown parameter 'rate_hx'"),
    ],
)
def test_bad_overrides_stop_with_one_clear_line(override, message):
    with pytest.raises(ConfigError) as err:
        _declare([override])
    assert message in str(err.value)


def test_an_empty_list_default_is_declared_with_its_array_type():
    with ros_context() as ctx:
        node = Node("example", context=ctx, parameter_overrides=[])
        assert declare_config(node, NodeExampleConfig).topics == []
        node.destroy_node()
    with ros_context() as ctx:
        given = [Parameter("topics", value=["/a", "/b"])]
        node = Node("example", context=ctx, parameter_overrides=given)
        assert declare_config(node, NodeExampleConfig).topics == ["/a", "/b"]
        node.destroy_node()
