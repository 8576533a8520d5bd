"""The container images components run in: one place, read by the components and by ``make images``.

Tags are the project version (from the installed package metadata, i.e.
pyproject.toml), so the compiled YAML names exactly the images ``make images``
builds (it also tags them VERSION-COMMIT for traceability).
``TRASHSEG_IMAGE_PREFIX`` (for example ``registry.example.com/ml/``) is
prepended at compile time for clusters that pull from a registry.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import PackageNotFoundError, version

# A registry as docker names it: host[:port] then lowercase path components (distribution's reference grammar).
REGISTRY_PATTERN = re.compile(r"^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


def project_version() -> str:
    try:
        return version("trashseg")
    except PackageNotFoundError:  # running from a source tree that is not installed
        import tomllib
        from pathlib import Path

        return tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]["version"]


VERSION = project_version()
PREFIX = os.environ.get("TRASHSEG_IMAGE_PREFIX", "")


def check_registry(registry: str) -> str:
    """``host[:port]/path`` without a scheme or trailing slash, or one clear error naming the parameter."""
    from trashseg.data_contracts.errors import ParameterError

    cleaned = registry.strip().rstrip("/")
    if "://" in cleaned or not REGISTRY_PATTERN.match(cleaned):
        raise ParameterError(
            "REGISTRY",
            f"{registry!r} is not host[:port]/path with a lowercase path, e.g. localhost:5000/trashseg (no scheme)",
        )
    return cleaned


def image_for(kind: str, registry: str = "") -> str:
    """The image a component of ``kind`` runs in: under ``registry`` if given, else under TRASHSEG_IMAGE_PREFIX."""
    prefix = f"{check_registry(registry)}/" if registry else PREFIX
    return f"{prefix}trashseg-{kind}:{VERSION}"


CPU_IMAGE = image_for("cpu")
GPU_IMAGE = image_for("gpu")
