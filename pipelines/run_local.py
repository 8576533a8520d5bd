"""Run a pipeline on this machine with kfp's own local runner (``kfp.local``), caching on.

SubprocessRunner(use_venv=False) runs each lightweight component with this
interpreter, where the project is installed; DockerRunner runs them in the
project's images, which must exist locally (``make images``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
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


def folder_parameters(train_data: Path, test_data: Path) -> dict[str, str]:
    """The two data folders as the pipelines' URI parameters, with their content fingerprints.

    Locally a folder URI is its path; kfp.local's importer hands the folder to ingest. The same folder may be both.
    """
    params = {}
    for part, folder in (("train", train_data), ("test", test_data)):
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise ContractError(folder, f"--{part}-data is not a folder", field=f"{part}_data")
        params.update({f"{part}_data": str(folder), f"{part}_fingerprint": folder_digest(folder)})
    return params


def sample_layout(data_dir: Path) -> tuple[Path, Path]:
    """DATA/train and DATA/test, each annotations.json + images/ (what `trashseg sample-data` writes)."""
    return Path(data_dir) / "train", Path(data_dir) / "test"


def check_data_folders(arguments: dict[str, Any], defaults: dict[str, Any]) -> None:
    """What the pipeline will read from its folders is there: the check a run would otherwise fail at its first task.

    Reads the same parameters the pipeline does (given, else their defaults), and names the one that is missing.
    """
    from trashseg.components.common.coco import inside_folder

    value = {
        name: arguments.get(name, defaults.get(name))
        for name in (
            "train_data",
            "test_data",
            "train_annotations",
            "test_annotations",
            "images",
            "validation_annotations",
            "submission_template",
        )
    }
    wanted = [
        ("train_data", "train_annotations", "file"),
        ("test_data", "test_annotations", "file"),
        ("train_data", "images", "folder"),
        ("test_data", "images", "folder"),
        ("train_data", "validation_annotations", "file"),
        ("test_data", "submission_template", "file"),
    ]
    for folder, parameter, kind in wanted:
        if not value.get(parameter):
            continue
        path = inside_folder(Path(value[folder]), value[parameter], parameter)
        if not (path.is_file() if kind == "file" else path.is_dir()):
            raise ContractError(
                path,
                f"no such {kind}: {parameter}={value[parameter]!r} inside {folder} {value[folder]}",
                field=parameter,
            )


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


@dataclass
class LocalRun:
    """What a local run will do, checked: the pipeline built for its topology and every argument it gets."""

    pipeline: str
    compiled: Any
    arguments: dict[str, Any]
    pipeline_root: Path
    runner: str
    caching: bool


def prepare_local(
    pipeline: str = "trashseg",
    data_dir: Path | None = None,
    pipeline_root: Path = Path("runs/kfp"),
    runner: str = "subprocess",
    params: dict[str, Any] | None = None,
    profile: str = "tiny",
    caching: bool = True,
    topology: Any = None,
    train_data: Path | None = None,
    test_data: Path | None = None,
) -> LocalRun:
    """Every check of a local run, before anything is written: bad input is one line and leaves nothing behind.

    The data: ``train_data`` and ``test_data`` (laid out as the parameters say), ``data_dir`` in the sample layout, or
    sample data made under the pipeline root (the one thing written here, and only for a run that asked for it).
    """
    from trashseg.pipelines.compile import build, module_of
    from trashseg.pipelines.topology import Topology

    topology = topology or Topology()
    if not topology.local:
        flag = (
            "--checkpoint-claim"
            if topology.checkpoint_claim
            else "--hub-cache-claim"
            if topology.hub_cache_claim
            else "--train-nodes"
        )
        raise ParameterError(
            flag, "kfp's local runner mounts no claim and starts no TrainJob: this topology runs on a cluster only"
        )
    if (train_data is None) != (test_data is None):
        missing, given = ("--test-data", "--train-data") if test_data is None else ("--train-data", "--test-data")
        raise ParameterError(missing, f"is needed with {given} (the same folder may be both)")
    compiled = build(pipeline, topology)
    pipeline_root = Path(pipeline_root).resolve()
    arguments: dict[str, Any] = (
        dict(TINY_PROFILE if pipeline == "trashseg" else CV_TINY_PROFILE) if profile == "tiny" else {}
    )
    arguments.update(params or {})
    inputs = compiled.component_spec.inputs
    unknown = sorted(set(arguments) - set(inputs))
    if unknown:
        raise ParameterError("--param", f"{unknown[0]} is not a parameter of {pipeline} ({', '.join(sorted(inputs))})")
    if train_data is None:
        if data_dir is None:  # the sample data, made once under the pipeline root
            from trashseg.components.sample_data.logic import run_sample_data

            data_dir = pipeline_root / "sample-data"
            if not data_dir.exists():
                run_sample_data(data_dir)
        train_data, test_data = sample_layout(Path(data_dir))
    for folder in (train_data, test_data):
        if runner == "docker" and pipeline_root not in Path(folder).resolve().parents:
            raise ContractError(
                folder,
                f"with --runner docker the data must be under the pipeline root {pipeline_root} "
                "(the only directory kfp's DockerRunner mounts into the containers)",
                field="data",
            )
    arguments = {**folder_parameters(Path(train_data), Path(test_data)), **arguments}
    check_data_folders(arguments, {name: spec.default for name, spec in inputs.items()})
    arguments.update(unset_knobs_resolved(module_of(pipeline).knobs_for(topology), arguments))
    return LocalRun(pipeline, compiled, arguments, pipeline_root, runner, caching)


def run_local(pipeline: str = "trashseg", *args: Any, **options: Any) -> dict[str, Any]:
    """Check (``prepare_local``, which takes the same arguments), then run; returns what happened: run directory,
    artifacts, metrics, seconds."""
    return execute(prepare_local(pipeline, *args, **options))


def execute(run: LocalRun) -> dict[str, Any]:
    """Run a prepared local run with kfp.local; returns the summary its last task wrote, with the run's seconds."""
    pipeline, compiled, arguments, pipeline_root = run.pipeline, run.compiled, run.arguments, run.pipeline_root
    runner, caching = run.runner, run.caching
    pipeline_root.mkdir(parents=True, exist_ok=True)
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
