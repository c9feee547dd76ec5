from setuptools import setup

package_name = "tf2_lite"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="hearth maintainers",
    maintainer_email="maintainers@hearth-robotics.org",
    description="CI-only pure-Python stand-in for the tf2_ros buffer, listener and broadcasters.",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": []},
)
