"""Rates are counted from arrivals and shown in a table."""

from hearth_eval.topic_rates import RateTable


def test_rate_is_arrivals_over_span():
    table = RateTable()
    for i in range(11):
        table.add("/odom", "nav_msgs/msg/Odometry", 100.0 + 0.01 * i)
    row = table.rows["/odom"]
    assert row.count == 11
    assert abs(row.rate_hz - 100.0) < 1e-6


def test_a_single_message_has_no_rate():
    table = RateTable()
    table.add("/map", "nav_msgs/msg/OccupancyGrid", 5.0)
    assert table.rows["/map"].rate_hz == 0.0
    assert table.as_dict()["/map"] == {
        "type": "nav_msgs/msg/OccupancyGrid", "count": 1, "rate_hz": 0.0, "latched": False
    }


def test_table_lists_topics_sorted():
    table = RateTable()
    table.add("/tf", "tf2_msgs/msg/TFMessage", 0.0)
    table.add("/cmd_vel", "geometry_msgs/msg/Twist", 0.0)
    lines = table.format().splitlines()
    assert lines[2].startswith("/cmd_vel") and lines[3].startswith("/tf")
