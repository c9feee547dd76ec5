from glob import glob

from setuptools import find_packages, setup

package_name = "hearth_slam"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
        ("share/" + package_name + "/vocabulary", glob("vocabulary/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="hearth maintainers",
    maintainer_email="maintainers@hearth-robotics.org",
    description="Stereo V-SLAM for hearth: ORB front end, iSAM2 back end, loop closure, maps.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [
        "slam_node = hearth_slam.slam_node:main",
        "train_vocabulary = hearth_slam.tools.train_vocabulary:main",
    ]},
)
