"""Run a pipeline on this machine with kfp's own local runner (``kfp.local``), caching on.

SubprocessRunner(use_venv=False) runs each lightweight component with this
interpreter, where the project is installed; DockerRunner runs them in the
project's images, which must exist locally (``make images``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from trashseg.components.common.log import get_logger
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.artifact import folder_digest

log = get_logger("trashseg.pipeline")

# Laptop-sized values for the sample data: the tiny preset (with its own learning rates) learns in a minute or two on 2 cores.
# Each profile names only what differs from the pipeline's defaults (tests/test_params.py checks).
TINY_PROFILE: dict[str, Any] = {"preset": "upernet-convnext-tiny", "epochs": 40, "paste_counts": "Battery=8,Clothing=8"}
CV_TINY_PROFILE: dict[str, Any] = {"preset": "upernet-convnext-tiny", "epochs": 15, "fold_list": [0, 1]}


def data_parameters(data_dir: Path) -> dict[str, str]:
    """DATA/train and DATA/test (annotations.json + images/ each, the layout sample-data writes) as folder URIs.

    Locally a folder URI is its path; kfp.local's importer hands it to ingest.
    """
    params = {}
    for part in ("train", "test"):
        folder = (data_dir / part).resolve()
        if not (folder / "annotations.json").is_file() or not (folder / "images").is_dir():
            raise ContractError(data_dir / part, "expected annotations.json and images/ here (the layout `trashseg sample-data` writes)")
        params.update({f"{part}_data": str(folder), f"{part}_fingerprint": folder_digest(folder)})
    return params


def init_local(pipeline_root: Path, runner: str = "subprocess", caching: bool = True) -> None:
    from kfp import local

    if runner == "subprocess":
        chosen = local.SubprocessRunner(use_venv=False)
    elif runner == "docker":
        check_images_present()
        chosen = docker_runner()
    else:
        raise ContractError("--runner", f"unknown runner {runner!r} (subprocess or docker)", field="runner")
    local.init(runner=chosen, pipeline_root=str(pipeline_root), enable_caching=caching, raise_on_error=True)


def docker_runner():
    """kfp's DockerRunner, the container running as this user so it can write the mounted pipeline root.

    (On a cluster the images run as their own non-root user; locally the
    pipeline root is a host directory owned by whoever runs the pipeline.)
    """
    import os

    from kfp import local

    return local.DockerRunner(user=f"{os.getuid()}:{os.getgid()}", environment={"HOME": "/tmp", "TRASHSEG_PROGRESS": "0"})


def check_images_present() -> None:
    import docker

    from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE

    try:
        client = docker.from_env()
        for image in (CPU_IMAGE, GPU_IMAGE):
            client.images.get(image)
    except docker.errors.ImageNotFound as err:
        raise ContractError("--runner docker", f"image missing locally ({err.explanation}); build it with `make images`") from None
    except docker.errors.DockerException as err:
        raise ContractError("--runner docker", f"no Docker engine reachable ({err})") from None


def run_local(pipeline: str = "trashseg", data_dir: Path | None = None, pipeline_root: Path = Path("runs/kfp"), runner: str = "subprocess",
              params: dict[str, Any] | None = None, profile: str = "tiny", caching: bool = True) -> dict[str, Any]:
    """Run ``pipeline`` locally; returns what happened: run directory, artifacts, final metrics, seconds."""
    from trashseg.pipelines.compile import local_pipelines as all_pipelines

    pipeline_root = Path(pipeline_root).resolve()
    pipeline_root.mkdir(parents=True, exist_ok=True)
    known = all_pipelines()
    if pipeline not in known:
        raise ContractError("--pipeline", f"unknown pipeline {pipeline!r} ({', '.join(known)})", field="pipeline")
    if data_dir is None:
        from trashseg.components.sample_data.logic import run_sample_data

        data_dir = pipeline_root / "sample-data"
        if not data_dir.exists():
            run_sample_data(data_dir)
    arguments: dict[str, Any] = {}
    if profile == "tiny":
        arguments.update(TINY_PROFILE if pipeline == "trashseg" else CV_TINY_PROFILE)
    if runner == "docker" and pipeline_root not in Path(data_dir).resolve().parents:
        raise ContractError(data_dir, f"with --runner docker the data must be under the pipeline root {pipeline_root} "
                                      "(the only directory kfp's DockerRunner mounts into the containers)", field="data")
    arguments.update(data_parameters(Path(data_dir)))
    arguments.update(params or {})
    init_local(pipeline_root, runner, caching)
    before = set(pipeline_root.iterdir())
    started = time.perf_counter()
    log.info("running pipeline %s locally (%s runner, caching %s) with %s", pipeline, runner, "on" if caching else "off",
             {k: v for k, v in arguments.items() if not k.endswith("fingerprint")})
    task = known[pipeline](**arguments)
    seconds = time.perf_counter() - started
    new_runs = sorted((p for p in pipeline_root.iterdir() if p.is_dir() and p not in before and not p.name.startswith(".")),
                      key=lambda p: p.stat().st_mtime)
    outputs = {name: artifact.path for name, artifact in task.outputs.items()}
    summary: dict[str, Any] = {"pipeline": pipeline, "run_dir": str(new_runs[-1]) if new_runs else None, "seconds": seconds,
                               "outputs": outputs}
    if "evaluation" in outputs:
        summary["metrics"] = json.loads((Path(outputs["evaluation"]) / "metrics.json").read_text())
    if "comparison" in outputs:
        summary["comparison"] = json.loads(Path(outputs["comparison"]).read_text())
    copy_paste = Path(summary["run_dir"] or ".") / "compare-copy-paste-op" / "comparison"
    if summary["run_dir"] and copy_paste.is_file():  # the optional copy-paste experiment ran (compare_copy_paste=true)
        summary["copy_paste"] = json.loads(copy_paste.read_text())
    if "cv_metrics" in outputs:
        summary["metrics"] = json.loads(Path(outputs["cv_metrics"]).read_text())
    return summary
