from glob import glob

from setuptools import find_packages, setup

package_name = "hearth_trajectory"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="hearth maintainers",
    maintainer_email="maintainers@hearth-robotics.org",
    description="Local planner for hearth: predictive, uncertainty-aware trajectory sampling.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": ["local_planner_node = hearth_trajectory.local_planner_node:main"]
    },
)
