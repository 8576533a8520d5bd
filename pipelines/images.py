"""The container images components run in: one place, read by the components and by ``make images``.

Tags are the project version (from the installed package metadata, i.e.
pyproject.toml), so the compiled YAML names exactly the images ``make images``
builds (it also tags them VERSION-COMMIT for traceability).
``TRASHSEG_IMAGE_PREFIX`` (for example ``registry.example.com/ml/``) is
prepended at compile time for clusters that pull from a registry.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version


def project_version() -> str:
    try:
        return version("trashseg")
    except PackageNotFoundError:  # running from a source tree that is not installed
        import tomllib
        from pathlib import Path

        return tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["version"]


VERSION = project_version()
PREFIX = os.environ.get("TRASHSEG_IMAGE_PREFIX", "")


def image_for(kind: str) -> str:
    return f"{PREFIX}trashseg-{kind}:{VERSION}"


CPU_IMAGE = image_for("cpu")
GPU_IMAGE = image_for("gpu")
