"""Train one model across nodes as a Kubeflow Trainer TrainJob, launched from a pipeline task.

Why a launcher: a KFP task is one pod, while Kubeflow Trainer runs a TrainJob's
nodes as a JobSet with torchrun across them (runtime ``torch-distributed``). The
launcher stages the task's input artifacts onto a volume every node mounts,
submits the job with the ``kubeflow`` SDK's ``TrainerClient``, streams its logs
into the task log, waits for its end, and publishes the model rank 0 wrote there
exactly as the single-pod train does, so infer, ensemble and submit do not change.

The same code drives the SDK's Kubernetes backend on a cluster (a
PersistentVolumeClaim mounted in the launcher pod and in every node) and its
container backend on one machine (Docker; each node a container, the job's work
directory the shared volume), which is how the tests run it here.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from trashseg.components.common import checks
from trashseg.components.common.log import get_logger
from trashseg.components.train.launch import train_arguments
from trashseg.components.train.logic import TrainParams, checkpoint_key
from trashseg.data_contracts.artifact import Manifest, atomic_directory, folder_digest, prepare_output, read_manifest
from trashseg.data_contracts.errors import ContractError

log = get_logger("trashseg.trainjob")

RUNTIME = "torch-distributed"  # Kubeflow Trainer's ClusterTrainingRuntime for torchrun jobs
NODE_CONTAINER = "node"  # the trainer container's name in that runtime
SHARED_VOLUME_NAME = "trashseg-shared"
CONTAINER_WORKSPACE = PurePosixPath("/workspace")  # where the container backend mounts a job's work directory
BACKENDS = ("kubernetes", "container")


class TrainJobFailed(RuntimeError):
    """The TrainJob ended Failed (or did not end in time); the message carries the job's own error."""


@dataclass(frozen=True)
class SharedVolume:
    """One volume as the launcher sees it (``here``) and as the TrainJob's nodes see it (``there``)."""

    here: Path
    there: PurePosixPath

    def for_nodes(self, path: Path) -> str:
        return str(self.there / Path(path).relative_to(self.here).as_posix())


@dataclass(frozen=True)
class TrainJobSettings:
    """Where and how big: the TrainJob's nodes and what each requests."""

    nodes: int = 2
    gpus_per_node: int = 1  # one process per GPU; 0 = CPU nodes, one process each
    cpus_per_node: int = 8
    memory_per_node: str = "32Gi"
    image: str = ""
    runtime: str = RUNTIME
    timeout_s: int = 7 * 24 * 3600
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict] = field(default_factory=list)

    def check(self) -> None:
        checks.number("--nodes", self.nodes, low=1, high=256, integer=True)
        checks.number("--gpus-per-node", self.gpus_per_node, low=0, high=16, integer=True)
        checks.number("--cpus-per-node", self.cpus_per_node, low=1, high=512, integer=True)
        checks.number("--timeout", self.timeout_s, low=60, high=30 * 24 * 3600, integer=True)
        if not self.image:
            raise ContractError("--image", "the TrainJob needs the trainer image (the project's GPU image on a cluster)", field="image")
        if not self.memory_per_node or not self.memory_per_node[0].isdigit():
            raise ContractError("--memory-per-node", f"{self.memory_per_node!r} is not a Kubernetes quantity such as 32Gi",
                                field="memory_per_node")

    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = {"cpu": self.cpus_per_node, "memory": self.memory_per_node}
        if self.gpus_per_node:
            resources["gpu"] = self.gpus_per_node
        return resources


def trainer_entry(argv: list[str]) -> None:
    """What every process of the TrainJob runs: ``trashseg train`` with ``argv``, under the job's torchrun.

    The SDK copies this function's source into the job, so it imports what it
    needs itself. Files it writes are group- and world-writable, so whoever runs
    the launcher (not the image's own user) can clean the shared volume.
    """
    import os
    import runpy
    import sys

    os.umask(0)
    sys.argv = ["trashseg", *argv]
    runpy.run_module("trashseg.components.cli", run_name="__main__")  # exits with the command's status, as `python -m` would


def _copy_once(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` unless it is there; a half-finished copy never takes the name."""
    if not target.exists():
        temporary = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
        shutil.copytree(source, temporary)
        os.replace(temporary, target)
    return target


def stage_inputs(artifacts: Iterable[Path], into: Path) -> list[Path]:
    """Copy each input artifact onto the shared volume once (a retried launcher reuses what is there).

    Folders are named by their content hash, so what a node reads is exactly
    what the task was given.
    """
    into.mkdir(parents=True, exist_ok=True)
    staged = []
    for artifact in artifacts:
        manifest = json.loads((Path(artifact) / "manifest.json").read_text())
        staged.append(_copy_once(Path(artifact), into / f"{manifest['contract']}-{manifest['content_hash'][:16]}"))
    return staged


def stage_folder(folder: Path, into: Path) -> Path:
    """A plain folder (a save_pretrained model) onto the shared volume, named by a hash of its names and bytes."""
    into.mkdir(parents=True, exist_ok=True)
    return _copy_once(folder, into / f"pretrained-{folder_digest(folder)[:16]}")


def job_key(datasets: list[Path], split: Path, params: TrainParams, pretrained: str | None = None) -> str:
    """The inputs', parameters' and start weights' hash: a retried launcher's new job finds the same staged inputs."""
    from trashseg.data_contracts.split import Split

    hashes = [read_manifest(Path(d), "dataset", (1,), verify_hashes=False).content_hash for d in datasets]
    return checkpoint_key(hashes, Split(split).content_hash, params, {"pretrained": str(pretrained or "")})


def job_name(key: str) -> str:
    """A TrainJob name (DNS label, starts with a letter): the key and a fresh suffix, as a retry needs a new job."""
    return f"trashseg-{key.removeprefix('train-')[:10]}-{uuid.uuid4().hex[:6]}"


def writable_by_nodes(directory: Path) -> Path:
    """The image runs as its own non-root user, not as the launcher's: the folders it writes to must let it."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o777)
    return directory


def kubernetes_options(claim: str, mount: str, settings: TrainJobSettings) -> list:
    """The shared claim, mounted at the launcher's own path in every node, and where the nodes may run."""
    from kubeflow.trainer.options.kubernetes import (ContainerPatch, JobSetSpecPatch, JobSetTemplatePatch, JobSpecPatch,
                                                     JobTemplatePatch, PodSpecPatch, PodTemplatePatch, ReplicatedJobPatch,
                                                     RuntimePatch, TrainingRuntimeSpecPatch)

    pod = PodSpecPatch(volumes=[{"name": SHARED_VOLUME_NAME, "persistentVolumeClaim": {"claimName": claim}}],
                       containers=[ContainerPatch(name=NODE_CONTAINER, volume_mounts=[{"name": SHARED_VOLUME_NAME, "mountPath": mount}])],
                       node_selector=settings.node_selector or None, tolerations=settings.tolerations or None)
    node_job = ReplicatedJobPatch(name=NODE_CONTAINER, template=JobTemplatePatch(spec=JobSpecPatch(template=PodTemplatePatch(spec=pod))))
    return [RuntimePatch(training_runtime_spec=TrainingRuntimeSpecPatch(
        template=JobSetTemplatePatch(spec=JobSetSpecPatch(replicated_jobs=[node_job]))))]


def container_workdir(name: str) -> Path:
    """Where the SDK's container backend keeps job ``name``'s work directory (mounted at /workspace in its nodes)."""
    return Path.home() / ".kubeflow" / "trainer" / "containers" / name


def local_runtime(image: str, directory: Path | None = None) -> Path:
    """A ``torch-distributed`` ClusterTrainingRuntime for the SDK's container backend, as a file source.

    The backend would otherwise try GitHub first (unreachable offline) and fall
    back to a runtime naming an image that is not here; the trainer's image
    comes from ``TrainJobSettings.image`` either way.
    """
    import yaml

    directory = directory or Path.home() / ".kubeflow" / "trainer" / "trashseg-runtimes"
    directory.mkdir(parents=True, exist_ok=True)
    node = {"name": NODE_CONTAINER, "template": {"spec": {"template": {"spec": {"containers": [{"name": NODE_CONTAINER, "image": image}]}}}}}
    runtime = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
               "metadata": {"name": RUNTIME, "labels": {"trainer.kubeflow.org/framework": "torch"}},
               "spec": {"mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
                        "template": {"spec": {"replicatedJobs": [node]}}}}
    path = directory / f"{RUNTIME}.yaml"
    path.write_text(yaml.safe_dump(runtime, sort_keys=False))
    return path


def _pod_namespace() -> str | None:
    """The namespace this pod runs in (a Kubeflow profile), from its service account; None outside a cluster."""
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.is_file() else None


def trainer_client(backend: str, namespace: str = "", image: str = "") -> Any:
    """The kubeflow SDK's TrainerClient: Kubeflow Trainer on the cluster, or Docker on this machine (local images only)."""
    from kubeflow.trainer import ContainerBackendConfig, KubernetesBackendConfig, TrainerClient
    from kubeflow.trainer.backends.container.types import TrainingRuntimeSource

    checks.choice("--backend", backend, BACKENDS)
    if backend == "kubernetes":
        namespace = namespace or _pod_namespace()
        return TrainerClient(KubernetesBackendConfig(namespace=namespace) if namespace else KubernetesBackendConfig())
    source = TrainingRuntimeSource(sources=[str(local_runtime(image))])
    return TrainerClient(ContainerBackendConfig(pull_policy="Never", container_runtime="docker", runtime_source=source))


def run_trainjob(client: Any, datasets: list[Path], split: Path, out: Path, params: TrainParams, settings: TrainJobSettings,
                 volume: SharedVolume | None, pretrained: str | None = None, options: list | None = None,
                 name: str | None = None) -> Manifest:
    """Train with a TrainJob and publish its model at ``out``; ``volume`` None = the container backend's work directory.

    A failed job fails here with the job's own message (the SDK's per-node exit
    codes and log tails); nothing is written at ``out`` then.
    """
    from kubeflow.trainer import CustomTrainer
    from kubeflow.trainer.options import Name

    params.check()
    settings.check()
    processes = settings.nodes * max(settings.gpus_per_node, 1)
    batch = params.resolved().batch_size
    if batch % processes:
        raise ContractError("--batch-size", f"{batch} does not divide among the TrainJob's {processes} processes "
                                            f"({settings.nodes} nodes x {max(settings.gpus_per_node, 1)}); use a multiple of {processes}")
    datasets, split, out = [Path(d) for d in datasets], Path(split), Path(out)
    prepare_output(out, True, "model", [*datasets, split])
    key = job_key(datasets, split, params, pretrained)
    name = name or job_name(key)
    if volume is None:  # the container backend: this job's work directory is the volume every node mounts
        volume = SharedVolume(container_workdir(name), CONTAINER_WORKSPACE)
    root = volume.here / "trashseg-trainjobs" / key
    staged = stage_inputs([*datasets, split], root / "inputs")
    if pretrained and Path(pretrained).is_dir():  # a folder only the launcher sees (an imported artifact): the nodes need it too
        pretrained = volume.for_nodes(stage_folder(Path(pretrained), root / "inputs"))
    checkpoints = writable_by_nodes(root / "checkpoints")
    node_out = writable_by_nodes(root / "runs" / name) / "model"
    argv = train_arguments([Path(volume.for_nodes(d)) for d in staged[:-1]], Path(volume.for_nodes(staged[-1])),
                           Path(volume.for_nodes(node_out)), params, pretrained, Path(volume.for_nodes(checkpoints)),
                           resume=True, overwrite=True)
    trainer = CustomTrainer(func=trainer_entry, func_args={"argv": argv}, image=settings.image, num_nodes=settings.nodes,
                            resources_per_node=settings.resources(), env={"TRASHSEG_PROGRESS": "0", "PYTHONUNBUFFERED": "1"})
    log.info("submitting TrainJob %s: %d node(s) x %s, image %s, runtime %s", name, settings.nodes, settings.resources(),
             settings.image, settings.runtime)
    client.train(runtime=client.get_runtime(settings.runtime), trainer=trainer, options=[Name(name=name), *(options or [])])
    errors: list[str] = []  # the trainers' own one-line errors (torchrun's summary hides them from the SDK's log tail)
    try:
        for chunk in client.get_job_logs(name, follow=True):
            for line in chunk.splitlines():
                log.info("[%s] %s", name, line)
                if line.lstrip().startswith("error:") and line.strip() not in errors:
                    errors.append(line.strip())
        try:  # a Failed job raises here with the SDK's account of it (per-node exit codes and log tails)
            client.wait_for_job_status(name, status={"Complete"}, timeout=settings.timeout_s)
        except (RuntimeError, TimeoutError) as err:
            raise TrainJobFailed("\n".join([*errors[:3], str(err)])) from None
        if not (node_out / "manifest.json").is_file():
            raise TrainJobFailed(f"TrainJob {name} completed without writing its model at {node_out}")
        manifest = read_manifest(node_out, "model", (1,))
        with atomic_directory(out, True, "model", [*datasets, split]) as tmp:
            shutil.copytree(node_out, tmp, dirs_exist_ok=True)
        log.info("TrainJob %s finished: model %s published at %s", name, manifest.content_hash[:12], out)
        return manifest
    finally:
        try:
            client.delete_job(name)
        except Exception as err:  # noqa: BLE001 - cleanup must not hide the job's own outcome
            log.warning("could not delete TrainJob %s: %s", name, err)
