"""Imports point down: pipelines -> components -> data_contracts, and stages share code only through common and models.

Read from the source (every import, function bodies included), so a lazy import cannot hide an upward arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = {"common", "models"}  # what every stage may use besides its own package
TOP_LEVEL = {"cli.py", "__init__.py"}  # components/cli.py gathers every stage's CLI: the one module above the stages


def _imports(path: Path) -> list[tuple[int, str]]:
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
    sample.write_text("def f():\n    from components.common.images import x\n    import components.train.logic\n")
    assert [m for _, m in _imports(sample)] == ["components.common.images", "components.train.logic"]
