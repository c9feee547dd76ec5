"""Every package is a well-formed ROS 2 package in the layout the project promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

WS = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in (WS / "src").glob("*/package.xml"))
PYTHON_PACKAGES = [p for p in PACKAGES if (p / "setup.py").exists()]


def test_the_workspace_has_the_packages_of_the_design():
    names = {p.name for p in PACKAGES}
    assert names >= {"hearth_msgs", "hearth_common", "hearth_description", "hearth_sim",
                     "hearth_fusion", "hearth_slam", "hearth_planning", "hearth_trajectory",
                     "hearth_safety", "hearth_eval"}


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.name)
def test_manifest_is_format_3_apache_with_a_valid_maintainer(pkg: Path):
    manifest = parse_package(pkg / "package.xml")  # validates like colcon / rosdep do
    manifest.validate()
    assert manifest.package_format == 3
    assert manifest.name == pkg.name
    assert manifest.licenses == ["Apache-2.0"]


@pytest.mark.parametrize("pkg", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_python_package_layout(pkg: Path):
    manifest = parse_package(pkg / "package.xml")
    assert manifest.get_build_type() == "ament_python"
    assert (pkg / "setup.cfg").is_file()
    assert (pkg / "resource" / pkg.name).is_file()
    assert (pkg / pkg.name / "__init__.py").is_file()
    assert list((pkg / "test").glob("test_*.py")), "every package has tests"
    assert "extras_require" in (pkg / "setup.py").read_text(), "colcon test needs pytest declared"
