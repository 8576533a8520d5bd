"""Compile both pipelines to YAML for a topology and the images it names.

The defaults (no claim, one node, images ``trashseg-{cpu,gpu}:VERSION``) write the checked-in
``pipelines/compiled/*.yaml``, kept in sync by a test; any other choice writes under ``build/compiled/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

from kfp import compiler

from trashseg.data_contracts.errors import ParameterError
from trashseg.pipelines.topology import Images, Topology

COMPILED_DIR = Path(__file__).resolve().parent / "compiled"
BUILD_COMPILED_DIR = Path(__file__).resolve().parents[1] / "build" / "compiled"
PUSHED_FILE = Path(__file__).resolve().parents[1] / "build" / "pushed-images.json"  # written by `make push`


def modules() -> dict[str, ModuleType]:
    """Pipeline name -> its module (each has ``build(topology)`` and ``knobs_for(topology)``)."""
    from trashseg.pipelines import cv, trashseg

    return {trashseg.PIPELINE_NAME: trashseg, cv.PIPELINE_NAME: cv}


def module_of(name: str) -> ModuleType:
    """The module of pipeline ``name``; an unknown name is one clear error."""
    known = modules()
    if name not in known:
        raise ParameterError("--pipeline", f"unknown pipeline {name!r} ({', '.join(known)})")
    return known[name]


def build(name: str, topology: Topology = Topology()) -> Any:
    """The pipeline ``name`` for ``topology``."""
    return module_of(name).build(topology)


def registry_images(registry: str, pushed: Path | None = None) -> Images:
    """The images `make push` pushed to ``registry``, by the digests the registry answered."""
    from trashseg.components.common.images import check_registry

    registry, pushed = check_registry(registry), pushed or PUSHED_FILE
    recorded = json.loads(pushed.read_text()).get(registry, {}) if pushed.is_file() else {}
    if not {"cpu", "gpu"} <= set(recorded):
        raise ParameterError(
            "--registry",
            f"no digests of pushed images for {registry} in {pushed}: run `make push "
            f"REGISTRY={registry}` first, or name the images with --cpu-image and --gpu-image",
        )
    return Images(recorded["cpu"], recorded["gpu"])


def compile_all(out_dir: Path | None = None, topology: Topology = Topology()) -> list[Path]:
    """Write every pipeline for ``topology`` as ``out_dir/NAME.yaml``; returns the paths written."""
    topology.check()
    out_dir = Path(out_dir) if out_dir else (COMPILED_DIR if topology == Topology() else BUILD_COMPILED_DIR)
    return [compile_one(name, out_dir, topology) for name in modules()]


def compile_one(name: str, out_dir: Path, topology: Topology) -> Path:
    """Write pipeline ``name`` for ``topology`` as ``out_dir/NAME.yaml`` (its header's dict defaults sorted)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.yaml"
    compiler.Compiler().compile(build(name, topology), str(path))
    path.write_text(sorted_header_defaults(path.read_text()))
    return path


def sorted_header_defaults(text: str) -> str:
    """kfp's header comment prints a dict default in protobuf map order, which changes between processes: sort it, so
    the same pipeline compiles to the same bytes (the YAML body is sorted already)."""
    import ast
    import re

    def sort(match: re.Match) -> str:
        return f"{match[1]}{dict(sorted(ast.literal_eval(match[2]).items()))}]"

    return re.sub(r"^(#    \w+: dict \[Default: )(\{.*\})\]$", sort, text, flags=re.MULTILINE)
