import pytest

from hearth_description.robot_model import load_robot_params


@pytest.fixture(scope="session")
def robot():
    """The robot of hearth_description's robot.yaml."""
    return load_robot_params()
