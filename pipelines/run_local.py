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
from trashseg.data_contracts.artifact import folder_digest
from trashseg.data_contracts.errors import ContractError, ParameterError

log = get_logger("trashseg.pipeline")

# Laptop-sized values for the sample data: the tiny preset (with its own learning rates) learns in a minute or two on 2
# cores.
# Each profile names only what differs from the pipeline's defaults (a test checks).
TINY_PROFILE: dict[str, Any] = {
    "preset": "upernet-convnext-tiny",
    "epochs": 40,
    "paste_counts": {"Battery": 8, "Clothing": 8},
}
CV_TINY_PROFILE: dict[str, Any] = {"preset": "upernet-convnext-tiny", "epochs": 15, "fold_list": [0, 1]}


def data_parameters(data_dir: Path) -> dict[str, str]:
    """DATA/train and DATA/test (annotations.json + images/ each, the layout sample-data writes) as folder URIs.

    Locally a folder URI is its path; kfp.local's importer hands it to ingest.
    """
    params = {}
    for part in ("train", "test"):
        folder = (data_dir / part).resolve()
        if not (folder / "annotations.json").is_file() or not (folder / "images").is_dir():
            raise ContractError(
                data_dir / part, "expected annotations.json and images/ here (the layout `trashseg sample-data` writes)"
            )
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
        raise ParameterError("--runner", f"unknown runner {runner!r} (subprocess or docker)")
    local.init(runner=chosen, pipeline_root=str(pipeline_root), enable_caching=caching, raise_on_error=True)


def docker_runner():
    """kfp's DockerRunner, the container running as this user so it can write the mounted pipeline root.

    (On a cluster the images run as their own non-root user; locally the
    pipeline root is a host directory owned by whoever runs the pipeline.)
    """
    import os

    from kfp import local

    return local.DockerRunner(
        user=f"{os.getuid()}:{os.getgid()}", environment={"HOME": "/tmp", "TRASHSEG_PROGRESS": "0"}
    )


def check_images_present() -> None:
    import docker
    from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE

    try:
        client = docker.from_env()
        for image in (CPU_IMAGE, GPU_IMAGE):
            client.images.get(image)
    except docker.errors.ImageNotFound as err:
        raise ParameterError(
            "--runner docker", f"image missing locally ({err.explanation}); build it with `make images`"
        ) from None
    except docker.errors.DockerException as err:
        raise ParameterError("--runner docker", f"no Docker engine reachable ({err})") from None


def unset_knobs_resolved(knobs: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    """The preset's values for the training knobs left unset.

    Why: on a cluster an unset optional parameter is left out and the component's None applies, but kfp.local 2.17
    cannot
    run a pipeline with an optional parameter left unset (its orchestrator needs a value), so a local run gives the
    values the component would resolve: the same numbers, written out.
    """
    from trashseg.components.train.params import TrainParams

    train = knobs.stages["train"]
    given = {
        f.name: arguments[knobs.name("train", f.name)]
        for f in train.fields()
        if knobs.name("train", f.name) in arguments
    }
    resolved = TrainParams(**given).resolved()
    filled = {}
    for f in train.fields():
        name = knobs.name("train", f.name)
        if name not in arguments and f.default is None:
            filled[name] = getattr(resolved, f.name)
    left = [
        name
        for name, _, default, _ in knobs.parameters()
        if default is None and name not in arguments and name not in filled
    ]
    if left:
        raise ParameterError(
            "--param", f"kfp.local needs a value for {left[0]} (unset optional parameters run only on a cluster)"
        )
    return filled


def run_local(
    pipeline: str = "trashseg",
    data_dir: Path | None = None,
    pipeline_root: Path = Path("runs/kfp"),
    runner: str = "subprocess",
    params: dict[str, Any] | None = None,
    profile: str = "tiny",
    caching: bool = True,
    topology: Any = None,
) -> dict[str, Any]:
    """Run ``pipeline`` locally; returns what happened: run directory, artifacts, final metrics, seconds."""
    from trashseg.pipelines.compile import build, module_of
    from trashseg.pipelines.topology import Topology

    topology = topology or Topology()
    if not topology.local:
        raise ParameterError(
            "--checkpoint-claim"
            if topology.checkpoint_claim
            else "--hub-cache-claim"
            if topology.hub_cache_claim
            else "--train-nodes",
            "kfp's local runner mounts no claim and starts no TrainJob: this topology runs on a cluster only",
        )
    pipeline_root = Path(pipeline_root).resolve()
    pipeline_root.mkdir(parents=True, exist_ok=True)
    compiled = build(pipeline, topology)
    if data_dir is None:
        from trashseg.components.sample_data.logic import run_sample_data

        data_dir = pipeline_root / "sample-data"
        if not data_dir.exists():
            run_sample_data(data_dir)
    arguments: dict[str, Any] = {}
    if profile == "tiny":
        arguments.update(TINY_PROFILE if pipeline == "trashseg" else CV_TINY_PROFILE)
    if runner == "docker" and pipeline_root not in Path(data_dir).resolve().parents:
        raise ContractError(
            data_dir,
            f"with --runner docker the data must be under the pipeline root {pipeline_root} "
            "(the only directory kfp's DockerRunner mounts into the containers)",
            field="data",
        )
    arguments.update(data_parameters(Path(data_dir)))
    arguments.update(params or {})
    knobs = module_of(pipeline).KNOBS
    unknown = sorted(set(arguments) - set(compiled.component_spec.inputs))
    if unknown:
        raise ParameterError(
            "--param",
            f"{unknown[0]} is not a parameter of {pipeline} ({', '.join(sorted(compiled.component_spec.inputs))})",
        )
    arguments.update(unset_knobs_resolved(knobs, arguments))
    init_local(pipeline_root, runner, caching)
    before = set(pipeline_root.iterdir())
    started = time.perf_counter()
    log.info(
        "running pipeline %s locally (%s runner, caching %s) with %s",
        pipeline,
        runner,
        "on" if caching else "off",
        {k: v for k, v in arguments.items() if not k.endswith("fingerprint")},
    )
    compiled(**arguments)
    seconds = time.perf_counter() - started
    new_runs = sorted(
        (p for p in pipeline_root.iterdir() if p.is_dir() and p not in before and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    run_dir = new_runs[-1] if new_runs else None
    written = sorted(run_dir.glob("*/summary")) if run_dir else []  # the pipeline's last task: where its results went
    summary: dict[str, Any] = {
        "pipeline": pipeline,
        "run_dir": str(run_dir) if run_dir else None,
        "seconds": seconds,
        "outputs": {},
    }
    if written:
        summary.update(json.loads(written[-1].read_text()))
    for path in run_dir.glob("*/comparison") if run_dir else []:  # the optional copy-paste experiment's comparison
        comparison = json.loads(path.read_text())
        if "with_paste" in comparison["members"]:
            summary["copy_paste"] = comparison
    return summary
