"""Elevflow: the installed distribution's one namespace.

In the repository the parts keep their own top-level folders (engine/, webui/, cli/, processes/); the
build maps them under this package (pyproject.toml, [tool.setuptools] package-dir), so that an install
adds `elevflow` to site-packages and nothing else: `elevflow.engine`, `elevflow.webui`, `elevflow.cli`,
and `elevflow.processes` (the shipped routines, read through importlib.resources).
"""
from importlib import metadata

try:
    #: The version: pyproject.toml's [project] version is the one place it is written.
    __version__ = metadata.version("elevflow")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
