"""Imports point down: pipelines -> components -> data_contracts, and stages share code only through common and models.

Read from the source (every import, function bodies included), so a lazy import cannot hide an upward arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = {"common", "models"}  # what every stage may use besides its own package
TOP_LEVEL = {"cli.py", "__init__.py"}  # components/cli.py gathers every stage's CLI: the one module above the stages


PACKAGES = ("components", "data_contracts", "pipelines")  # folders here, installed as trashseg.<folder>


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute import's module, with the install namespace ``trashseg.`` taken off (the rules speak of
    folders)."""
    return [(line, module.removeprefix("trashseg.")) for line, module in _raw_imports(path)]


def _raw_imports(path: Path) -> list[tuple[int, str]]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append((node.lineno, node.module))
    return modules


def _sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _violations(package: str, rule) -> list[str]:
    found = []
    for path in _sources(package):
        for line, module in _imports(path):
            reason = rule(path.relative_to(REPO), module)
            if reason:
                found.append(f"{path.relative_to(REPO)}:{line} imports {module} ({reason})")
    return found


def test_data_contracts_import_neither_components_nor_pipelines():
    def rule(path: Path, module: str) -> str | None:
        return "contracts are the bottom layer" if module.split(".")[0] in ("components", "pipelines") else None

    assert not _violations("data_contracts", rule)


def test_components_do_not_import_pipelines_and_stages_do_not_import_each_other():
    def rule(path: Path, module: str) -> str | None:
        parts = module.split(".")
        if parts[0] == "pipelines":
            return "components sit below pipelines"
        if parts[0] != "components" or len(parts) < 2 or path.parts[1] in TOP_LEVEL:
            return None
        here, there = path.parts[1], parts[1]
        if here in SHARED and there not in SHARED:
            return "common and models serve the stages, never the reverse"
        if here not in SHARED and there not in SHARED and there != here:
            return f"stage {here} reaches into stage {there}; share through components.common or components.models"
        return None

    assert not _violations("components", rule)


@pytest.mark.parametrize("package", ["data_contracts", "components", "pipelines"])
def test_the_rule_sees_lazy_imports(package, tmp_path):
    """The reader finds imports inside function bodies too (where this project keeps its heavy ones)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from trashseg.components.common.images import x\n    import trashseg.components.train.logic\n"
    )
    assert [m for _, m in _imports(sample)] == ["components.common.images", "components.train.logic"]


def test_every_import_names_the_install_namespace():
    """``import components`` would work from the repository root and fail (or find PyPI's ``components``) elsewhere."""
    found = []
    for path in sorted(REPO.glob("*/**/*.py")):
        if path.relative_to(REPO).parts[0] in (".venv", "build", "runs"):
            continue
        found += [
            f"{path.relative_to(REPO)}:{line} imports {module}"
            for line, module in _raw_imports(path)
            if module.split(".")[0] in PACKAGES
        ]
    assert not found


def test_the_install_lists_every_package_folder_under_trashseg():
    """setuptools' explicit package list (needed for the folder-to-namespace mapping) misses a new folder silently."""
    import tomllib

    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        "trashseg." + ".".join(init.parent.relative_to(REPO).parts)
        for package in PACKAGES
        for init in (REPO / package).rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == folders
    assert setuptools["package-dir"] == {f"trashseg.{package}": package for package in PACKAGES}


def test_the_installed_project_is_found_by_its_namespace_only(tmp_path):
    """From outside the repository, trashseg.* imports from this checkout and the bare folder names are not
    installed."""
    import subprocess
    import sys

    probe = (
        "import importlib.util, trashseg.components.cli as cli;"
        "print(cli.__file__); print([importlib.util.find_spec(n) is None for n in ('components', 'pipelines', "
        "'data_contracts')])"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    where, missing = result.stdout.split("\n")[:2]
    assert Path(where) == REPO / "components" / "cli.py"
    assert missing == "[True, True, True]"


def test_the_gpu_scripts_find_the_namespace_in_a_checkout_without_an_install():
    """bench/use_source_tree.sh (sourced by the GPU scripts): with this venv's editable-install finder taken off the
    import system, the trashseg.* names resolve to this checkout's folders, and the stand-in package is removed when
    the shell exits."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '')];"
        "import trashseg, trashseg.data_contracts.errors as e; print(trashseg.__file__); print(e.__file__)"
    )
    script = f'source bench/use_source_tree.sh && "{sys.executable}" -c "{probe}"'
    result = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    shim_init, module = result.stdout.split("\n")[:2]
    assert Path(module) == REPO / "data_contracts" / "errors.py"
    assert not Path(shim_init).exists()  # the stand-in is gone with the shell
