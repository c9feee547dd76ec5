"""The topic monitor finds publishers by name and measures their rate over real DDS."""

import json

from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.testing import ros_context, spin_until
from hearth_eval.topic_monitor_node import TopicMonitorNode


def test_monitor_counts_messages_of_any_type(tmp_path):
    report = tmp_path / "rates.json"
    with ros_context() as ctx:
        monitor = TopicMonitorNode(
            context=ctx,
            parameter_overrides=[
                Parameter("topics", value=["/cmd_vel", "/never_published"]),
                Parameter("discovery_period_s", value=0.1),
                Parameter("report_file", value=str(report)),
            ],
        )
        probe = Node("probe", context=ctx)
        pub = probe.create_publisher(Twist, "/cmd_vel", 10)
        probe.create_timer(0.02, lambda: pub.publish(Twist()))
        assert spin_until(
            [monitor, probe],
            lambda: "/cmd_vel" in monitor.table.rows and monitor.table.rows["/cmd_vel"].count >= 20,
            timeout_s=15.0,
        )
        monitor.destroy_node()
        probe.destroy_node()
    rates = json.loads(report.read_text())
    assert rates["/cmd_vel"]["type"] == "geometry_msgs/msg/Twist"
    assert rates["/cmd_vel"]["rate_hz"] > 10.0
    assert rates["/never_published"]["count"] == 0


def test_monitor_receives_latched_messages_published_before_it_started():
    from std_msgs.msg import String

    from hearth_common.qos import LATCHED

    with ros_context() as ctx:
        probe = Node("probe", context=ctx)
        pub = probe.create_publisher(String, "/power_mode", LATCHED)
        pub.publish(String(data="normal"))
        monitor = TopicMonitorNode(
            context=ctx,
            parameter_overrides=[
                Parameter("topics", value=["/power_mode"]),
                Parameter("discovery_period_s", value=0.1),
            ],
        )
        rows = monitor.table.rows
        assert spin_until(
            [monitor, probe],
            lambda: "/power_mode" in rows and rows["/power_mode"].count == 1,
            timeout_s=15.0,
        )
        assert rows["/power_mode"].latched
        assert "latched" in monitor.table.format()
        monitor.destroy_node()
        probe.destroy_node()
