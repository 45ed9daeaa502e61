"""The package layout (everything else is in pyproject.toml).

The repository keeps engine/, webui/, cli/ and processes/ at the top; the distribution installs them as
one namespace: elevflow.engine, elevflow.webui, elevflow.cli, elevflow.processes (and elevflow itself,
elevflow/__init__.py). setuptools cannot map a folder under another name and find its subpackages from
pyproject.toml alone, so this file lists them.
"""
from setuptools import find_packages, setup

PARTS = {"engine": "engine", "webui": "webui", "cli": "cli", "processes": "processes"}

package_dir = {"elevflow": "elevflow", **{f"elevflow.{name}": folder for name, folder in PARTS.items()}}
packages = ["elevflow", *(f"elevflow.{name}" for name in PARTS)]
for name, folder in PARTS.items():
    packages += [f"elevflow.{name}.{sub}" for sub in find_packages(folder)]

setup(package_dir=package_dir, packages=packages)
