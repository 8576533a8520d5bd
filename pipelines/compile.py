"""Compile both pipelines to YAML (checked in under pipelines/compiled/, kept in sync by a test).

For a cluster that pulls from a registry, ``compile_for_registry`` writes the
same pipelines with registry-qualified images (under build/compiled/ by default).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kfp import compiler

COMPILED_DIR = Path(__file__).resolve().parent / "compiled"
REGISTRY_COMPILED_DIR = Path(__file__).resolve().parents[1] / "build" / "compiled"


def pipelines() -> dict[str, object]:
    from trashseg.pipelines.cv import PIPELINE_NAME as CV_NAME, trashseg_cv_pipeline
    from trashseg.pipelines.trashseg import PIPELINE_NAME, trashseg_pipeline

    return {PIPELINE_NAME: trashseg_pipeline, CV_NAME: trashseg_cv_pipeline}


def local_pipelines() -> dict[str, object]:
    """The same pipelines built for kfp.local (no Kubernetes branches; see ``pipelines.trashseg``)."""
    from trashseg.pipelines.cv import PIPELINE_NAME as CV_NAME, trashseg_cv_local_pipeline
    from trashseg.pipelines.trashseg import PIPELINE_NAME, trashseg_local_pipeline

    return {PIPELINE_NAME: trashseg_local_pipeline, CV_NAME: trashseg_cv_local_pipeline}


def compile_all(out_dir: Path = COMPILED_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, pipeline in pipelines().items():
        path = out_dir / f"{name}.yaml"
        compiler.Compiler().compile(pipeline, str(path))
        written.append(path)
    return written


def compile_for_registry(registry: str, out_dir: Path = REGISTRY_COMPILED_DIR) -> list[Path]:
    """Compile with images under ``registry``, in a fresh interpreter.

    Components bind their image when their module is imported, so a process
    that has already imported them cannot recompile them for another registry.
    """
    from trashseg.data_contracts.errors import ContractError
    from trashseg.components.common.images import check_registry

    env = {**os.environ, "TRASHSEG_IMAGE_PREFIX": f"{check_registry(registry)}/"}
    result = subprocess.run([sys.executable, "-m", "trashseg.pipelines.compile", str(out_dir)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ContractError(out_dir, f"compiling for {registry} failed: {result.stderr.strip().splitlines()[-1:]}")
    return [Path(line) for line in result.stdout.split()]


if __name__ == "__main__":
    for written in compile_all(Path(sys.argv[1]) if len(sys.argv) > 1 else COMPILED_DIR):
        print(written)
