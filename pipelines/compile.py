"""Compile both pipelines to YAML (checked in under pipelines/compiled/, kept in sync by a test)."""

from __future__ import annotations

from pathlib import Path

from kfp import compiler

COMPILED_DIR = Path(__file__).resolve().parent / "compiled"


def pipelines() -> dict[str, object]:
    from pipelines.cv import PIPELINE_NAME as CV_NAME, trashseg_cv_pipeline
    from pipelines.trashseg import PIPELINE_NAME, trashseg_pipeline

    return {PIPELINE_NAME: trashseg_pipeline, CV_NAME: trashseg_cv_pipeline}


def local_pipelines() -> dict[str, object]:
    """The same pipelines built for kfp.local (no Kubernetes branches; see ``pipelines.trashseg``)."""
    from pipelines.cv import PIPELINE_NAME as CV_NAME, trashseg_cv_local_pipeline
    from pipelines.trashseg import PIPELINE_NAME, trashseg_local_pipeline

    return {PIPELINE_NAME: trashseg_local_pipeline, CV_NAME: trashseg_cv_local_pipeline}


def compile_all(out_dir: Path = COMPILED_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, pipeline in pipelines().items():
        path = out_dir / f"{name}.yaml"
        compiler.Compiler().compile(pipeline, str(path))
        written.append(path)
    return written
