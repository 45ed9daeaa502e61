"""The layers hold: the engine stands alone (no web app, command line or web framework), the web app uses
only the engine's public modules, and every engine module is either public or the engine's own.

The contracts are pyproject.toml's [tool.importlinter], checked here with import-linter (as `lint-imports`
would), so that CI, which runs the README's pytest command, enforces them.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from elevflow import engine

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "webui", "cli")
LINT = """import sys
from importlinter.cli import lint_imports
sys.exit(lint_imports(config_filename="pyproject.toml", no_cache=True, no_logo=True))
"""


def lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    """import-linter on the packages found first from `cwd` (its copies, when it holds them)."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", LINT], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def installed_layout(folder: Path) -> Path:
    """The packages copied into `folder` as an install lays them out (elevflow/engine, elevflow/webui,
    elevflow/cli): import-linter (grimp) walks the folders of a top-level package, and in a checkout
    elevflow/ holds only its __init__.py, the rest being mapped in by the editable install."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, folder / "elevflow" / package, ignore=shutil.ignore_patterns(
            "static", "templates", "translations", "fonts", "migrations", "__pycache__"))
    shutil.copy(ROOT / "elevflow" / "__init__.py", folder / "elevflow" / "__init__.py")
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def test_the_import_contracts_hold(tmp_path):
    result = lint(installed_layout(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_the_contracts_catch_the_web_reaching_into_the_engine_and_the_engine_importing_the_web(tmp_path):
    """On a copy of the code with the two faults this project had (webui reading engine.storage.models; the
    engine
    importing webui, as engine/cli_demo.py did, and Flask), each contract reports its breach."""
    installed_layout(tmp_path)
    (tmp_path / "elevflow" / "webui" / "reach.py").write_text(
        "from elevflow.engine.storage.models import Pupil\n", encoding="utf-8")
    (tmp_path / "elevflow" / "engine" / "serve.py").write_text(
        "import flask\n\nfrom elevflow.webui import create_app\n", encoding="utf-8")
    result = lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "Contracts: 2 kept, 2 broken" in out, out  # the layers and web-not-cli contracts still hold
    assert "elevflow.webui.reach -> elevflow.engine.storage.models" in out
    assert "elevflow.engine.serve -> elevflow.webui" in out
    assert "elevflow.engine.serve -> flask" in out


def test_every_engine_module_is_public_or_the_engines_own():
    """A new engine module must be put on one side: public (engine.PUBLIC_MODULES) or protected (the
    contract), never silently neither."""
    modules = set()
    for found in pkgutil.iter_modules(engine.__path__):
        if not found.ispkg:
            modules.add(found.name)
            continue
        # a layer: its modules (and orgimport)
        package = importlib.import_module(f"elevflow.engine.{found.name}")
        modules |= {f"{found.name}.{m.name}" for m in pkgutil.iter_modules(package.__path__)}
    public = set(engine.PUBLIC_MODULES)
    listed = contracts()["web-public-engine"]["protected_modules"]
    protected = {name.removeprefix("elevflow.engine.") for name in listed}
    assert not public & protected
    assert public | protected == modules, (modules - public - protected, (public | protected) - modules)


def test_docs_name_the_public_modules():
    doc = (ROOT / "docs" / "engine.md").read_text(encoding="utf-8")
    section = doc.split("## The public surface", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    named = set(re.findall(r"`([\w/]+)\.py`", table))
    assert named == {name.replace(".", "/") for name in engine.PUBLIC_MODULES}


BLOCKED = """import importlib, pkgutil, sys

BLOCKED = {"flask", "flask_babel", "flask_wtf", "werkzeug", "jinja2", "elevflow.webui", "elevflow.cli"}


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED or ".".join(name.split(".")[:2]) in BLOCKED:
            raise ImportError(f"{name} is blocked: the engine must not need it")
        return None


sys.meta_path.insert(0, Blocker())
from elevflow import engine

names = sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "elevflow.engine."))
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED or ".".join(m.split(".")[:2]) in BLOCKED)
assert not loaded, loaded
print(len(names), "modules")
"""


def test_the_engine_and_every_module_of_it_imports_without_the_web():
    """`engine` imports with Flask, Werkzeug, Jinja2, the web app and the command line all unimportable
    (a meta-path blocker stands in for their not being installed)."""
    result = subprocess.run([sys.executable, "-c", BLOCKED], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) >= len(engine.PUBLIC_MODULES)


def test_the_blocker_does_block():
    """The check above can fail: the same blocker (the web app itself let through) stops the web app, which
    needs Flask, from importing."""
    script = (BLOCKED.split("from elevflow import engine", 1)[0].replace('"elevflow.webui", ', "")
              + "import elevflow.webui\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0 and "is blocked" in result.stderr
