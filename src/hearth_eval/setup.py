from glob import glob

from setuptools import find_packages, setup

package_name = "hearth_eval"

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
    description="Scenarios, metrics, reports and benchmarks for hearth.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "topic_monitor = hearth_eval.topic_monitor_node:main",
            "bench = hearth_eval.bench.__main__:main",
            "demo = hearth_eval.demo:main",
            "eval = hearth_eval.eval:main",
        ],
    },
)
