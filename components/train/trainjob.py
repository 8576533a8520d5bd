"""Train one model across nodes as a Kubeflow Trainer TrainJob, launched from a pipeline task.

Why a launcher: a KFP task is one pod, while Kubeflow Trainer runs a TrainJob's
nodes as a JobSet with torchrun across them (runtime ``torch-distributed``). The
launcher stages the task's input artifacts onto a claim every node mounts,
submits the job with the ``kubeflow`` SDK's ``TrainerClient``, waits for its first
node to start, streams its logs into the task log, waits for its end, and
publishes the model rank 0 wrote there exactly as the single-pod train does, so
infer, ensemble and submit do not change.

What a real install asks of the job (Kubeflow Trainer v2.3.0 CRDs, kubeflow/trainer#2794): one ``runtimePatches``
entry (Trainer 2.2 or later; an older CRD prunes the field, so the launcher reads the job back and stops if it is
gone) carrying the claim, a memory-backed ``/dev/shm`` for loader workers and NCCL, the pod label
``sidecar.istio.io/inject: "false"`` (profile namespaces inject Istio sidecars, which break the rendezvous), an
``fsGroup`` so the image's user can write the claim, and optionally a service account and image pull secrets.

The same code drives the SDK's Kubernetes backend on a cluster and its container
backend on one machine (Docker; each node a container, the job's work directory
the shared volume), which is how the tests run it here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from trashseg.components.common import checks
from trashseg.components.common.log import get_logger
from trashseg.components.common.params import from_task
from trashseg.components.train.launch import train_arguments
from trashseg.components.train.logic import TrainParams, checkpoint_key
from trashseg.data_contracts.artifact import Manifest, atomic_directory, folder_digest, prepare_output, read_manifest
from trashseg.data_contracts.errors import ParameterError

log = get_logger("trashseg.trainjob")

RUNTIME = "torch-distributed"  # Kubeflow Trainer's ClusterTrainingRuntime for torchrun jobs
NODE_CONTAINER = "node"  # the trainer container's (and its replicated job's) name in that runtime
SHARED_VOLUME_NAME = "trashseg-shared"
SHM_VOLUME_NAME = "dshm"
CONTAINER_WORKSPACE = PurePosixPath("/workspace")  # where the container backend mounts a job's work directory
BACKENDS = ("kubernetes", "container")
ISTIO_INJECT = "sidecar.istio.io/inject"  # a pod label (the annotation of that name is deprecated)
IMAGE_UID = 1000  # the images' numeric user and group (docker/Dockerfile.*)
POLL_SECONDS = 5.0  # how often the launcher asks whether node 0 has started


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
    """Where and how big: the TrainJob's nodes, what each requests, and what a cluster's pods need around them.

    The train component takes these as its ``trainjob`` dict (the pipeline fills it when compiling).
    """

    nodes: int = 2
    gpus: int = 1  # one process per GPU; 0 = CPU nodes, one process each
    cpus_per_node: int = 8
    memory_per_node: str = "32Gi"
    shm_size: str = "16Gi"  # memory-backed /dev/shm: data-loader workers and NCCL (a pod's default is 64 MiB)
    image: str = ""
    claim: str = ""  # PersistentVolumeClaim (ReadWriteMany) every node mounts, at the launcher's own path
    namespace: str = ""  # '' = this pod's own
    backend: str = "kubernetes"
    hub_cache_claim: str = ""  # a claim holding a Hugging Face hub cache, mounted in every node at hub_cache_mount
    hub_cache_mount: str = ""
    service_account: str = ""  # '' = the namespace's default one
    image_pull_secrets: list[str] = field(default_factory=list)
    runtime: str = RUNTIME
    timeout_s: int = 7 * 24 * 3600
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict] = field(default_factory=list)

    def check(self) -> None:
        checks.number("--nodes", self.nodes, low=1, high=256, integer=True)
        checks.number("--gpus", self.gpus, low=0, high=16, integer=True)
        checks.number("--cpus-per-node", self.cpus_per_node, low=1, high=512, integer=True)
        checks.number("--timeout", self.timeout_s, low=60, high=30 * 24 * 3600, integer=True)
        checks.choice("--backend", self.backend, BACKENDS)
        if not self.image:
            raise ParameterError(
                "--image", "the TrainJob needs the trainer image (the project's GPU image on a cluster)"
            )
        for name, quantity in (("--memory-per-node", self.memory_per_node), ("--shm-size", self.shm_size)):
            if not quantity or not quantity[0].isdigit():
                raise ParameterError(name, f"{quantity!r} is not a Kubernetes quantity such as 32Gi")
        if self.backend == "kubernetes" and not self.claim:
            raise ParameterError(
                "--checkpoint-claim",
                "a TrainJob across nodes needs a ReadWriteMany claim that the launcher "
                "and every node mount (compile with --checkpoint-claim NAME)",
            )

    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = {"cpu": self.cpus_per_node, "memory": self.memory_per_node}
        if self.gpus:
            resources["gpu"] = self.gpus
        return resources

    @classmethod
    def from_task(cls, settings: dict, **given: Any) -> TrainJobSettings:
        """From the train component's ``trainjob`` dict and its own parameters; an unknown key is one clear error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ParameterError("trainjob", f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        return from_task(cls, {**settings, **given})  # kfp hands ints in dicts back as floats: typed again


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
    runpy.run_module(
        "trashseg.components.cli", run_name="__main__"
    )  # exits with the command's status, as `python -m` would


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


def runtime_patch(settings: TrainJobSettings, mount: str) -> dict[str, Any]:
    """The one ``runtimePatches`` entry's ``trainingRuntimeSpec``, as the Trainer v2.3.0 CRD's schema has it.

    Why one: the SDK stamps every patch with the same manager name, and the API server keys patches by it.
    """
    pod: dict[str, Any] = {
        "volumes": [
            {"name": SHARED_VOLUME_NAME, "persistentVolumeClaim": {"claimName": settings.claim}},
            {"name": SHM_VOLUME_NAME, "emptyDir": {"medium": "Memory", "sizeLimit": settings.shm_size}},
        ],
        "containers": [
            {
                "name": NODE_CONTAINER,
                "volumeMounts": [
                    {"name": SHARED_VOLUME_NAME, "mountPath": mount},
                    {"name": SHM_VOLUME_NAME, "mountPath": "/dev/shm"},
                ],
            }
        ],
        # the claim's root is often root-owned 0755: the kubelet hands it to the image's group
        "securityContext": {"fsGroup": IMAGE_UID, "fsGroupChangePolicy": "OnRootMismatch"},
    }
    if settings.hub_cache_claim:
        pod["volumes"].append({"name": "hub-cache", "persistentVolumeClaim": {"claimName": settings.hub_cache_claim}})
        pod["containers"][0]["volumeMounts"].append({"name": "hub-cache", "mountPath": settings.hub_cache_mount})
    if settings.node_selector:
        pod["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        pod["tolerations"] = list(settings.tolerations)
    if settings.service_account:
        pod["serviceAccountName"] = settings.service_account
    if settings.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in settings.image_pull_secrets]
    template = {"metadata": {"labels": {ISTIO_INJECT: "false"}}, "spec": pod}
    node_job = {"name": NODE_CONTAINER, "template": {"spec": {"template": template}}}
    return {"template": {"spec": {"replicatedJobs": [node_job]}}}


def kubernetes_options(settings: TrainJobSettings, mount: str) -> list:
    """The SDK option carrying ``runtime_patch`` (its classes take the pod spec as camelCase dicts)."""
    from kubeflow.trainer.options.kubernetes import (
        ContainerPatch,
        JobSetSpecPatch,
        JobSetTemplatePatch,
        JobSpecPatch,
        JobTemplatePatch,
        PodSpecPatch,
        PodTemplatePatch,
        ReplicatedJobPatch,
        RuntimePatch,
        TrainingRuntimeSpecPatch,
    )

    (node_job,) = runtime_patch(settings, mount)["template"]["spec"]["replicatedJobs"]
    template = node_job["template"]["spec"]["template"]
    pod = dict(template["spec"])
    (container,) = pod.pop("containers")
    spec = PodSpecPatch(
        volumes=pod.pop("volumes"),
        containers=[ContainerPatch(name=container["name"], volume_mounts=container["volumeMounts"])],
        security_context=pod.pop("securityContext"),
        node_selector=pod.pop("nodeSelector", None),
        tolerations=pod.pop("tolerations", None),
        service_account_name=pod.pop("serviceAccountName", None),
        image_pull_secrets=pod.pop("imagePullSecrets", None),
    )
    job = ReplicatedJobPatch(
        name=node_job["name"],
        template=JobTemplatePatch(
            spec=JobSpecPatch(template=PodTemplatePatch(metadata=template["metadata"], spec=spec))
        ),
    )
    return [
        RuntimePatch(
            training_runtime_spec=TrainingRuntimeSpecPatch(
                template=JobSetTemplatePatch(spec=JobSetSpecPatch(replicated_jobs=[job]))
            )
        )
    ]


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
    node = {
        "name": NODE_CONTAINER,
        "template": {
            "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
            "spec": {"template": {"spec": {"containers": [{"name": NODE_CONTAINER, "image": image}]}}},
        },
    }
    runtime = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": RUNTIME, "labels": {"trainer.kubeflow.org/framework": "torch"}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
            "template": {"spec": {"replicatedJobs": [node]}},
        },
    }
    path = directory / f"{RUNTIME}.yaml"
    path.write_text(yaml.safe_dump(runtime, sort_keys=False))
    return path


def _pod_namespace() -> str | None:
    """The namespace this pod runs in (a Kubeflow profile), from its service account; None outside a cluster."""
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.is_file() else None


def trainer_client(backend: str, namespace: str = "", image: str = "") -> Any:
    """The kubeflow SDK's TrainerClient: Kubeflow Trainer on the cluster, or Docker on this machine (local images
    only)."""
    from kubeflow.trainer import ContainerBackendConfig, KubernetesBackendConfig, TrainerClient
    from kubeflow.trainer.backends.container.types import TrainingRuntimeSource

    checks.choice("--backend", backend, BACKENDS)
    if backend == "kubernetes":
        namespace = namespace or _pod_namespace()
        return TrainerClient(KubernetesBackendConfig(namespace=namespace) if namespace else KubernetesBackendConfig())
    source = TrainingRuntimeSource(sources=[str(local_runtime(image))])
    return TrainerClient(ContainerBackendConfig(pull_policy="Never", container_runtime="docker", runtime_source=source))


def launch_from_task(
    params: TrainParams,
    datasets: list[Path],
    split: Path,
    out: Path,
    pretrained: str | None,
    checkpoint_root: str | None,
    gpus: int,
    nodes: int,
    trainjob: dict,
    node_selector: dict,
    tolerations: list,
) -> Manifest:
    """The train component's ``nodes > 1`` path: settings from its parameters, the claim at ``checkpoint_root``."""
    settings = TrainJobSettings.from_task(
        trainjob, nodes=nodes, gpus=gpus, node_selector=dict(node_selector), tolerations=list(tolerations)
    )
    settings.check()
    volume = None
    if settings.backend == "kubernetes":
        if not checkpoint_root:
            raise ParameterError(
                "--checkpoint-claim", "a TrainJob across nodes needs the claim mounted here (checkpoint_root)"
            )
        volume = SharedVolume(Path(checkpoint_root), PurePosixPath(checkpoint_root))
    client = trainer_client(settings.backend, settings.namespace, settings.image)
    return run_trainjob(client, datasets, split, out, params, settings, volume, pretrained)


def _submit(client: Any, trainer: Any, settings: TrainJobSettings, options: list) -> None:
    """Create the job; the cluster's refusals as one line naming the cause (a missing runtime, RBAC)."""
    try:
        runtime = client.get_runtime(settings.runtime)
    except Exception as err:  # noqa: BLE001 - the SDK wraps every API error; its cause says which
        raise TrainJobFailed(
            f"no ClusterTrainingRuntime {settings.runtime!r} ({_cause(err)}): Kubeflow Trainer's Helm chart "
            "leaves it out by default (enable its torch-distributed runtime, or install with the kustomize "
            "overlays)"
        ) from None
    try:
        client.train(runtime=runtime, trainer=trainer, options=options)
    except Exception as err:  # noqa: BLE001
        status = getattr(err.__cause__, "status", None)
        hint = {
            403: "the pipeline's service account may not create TrainJobs here: Kubeflow Trainer's kubeflow-platform "
            "overlay "
            "grants it (ClusterRole kubeflow-trainer-edit, aggregated into kubeflow-edit)",
            404: "no TrainJob resource on this cluster: install Kubeflow Trainer v2.2 or later",
        }.get(status, "")
        raise TrainJobFailed(f"the cluster refused the TrainJob ({_cause(err)}){': ' + hint if hint else ''}") from None


def _cause(err: BaseException) -> str:
    cause = err.__cause__ or err
    return f"{getattr(cause, 'status', '')} {getattr(cause, 'reason', '') or cause}".strip()


def _trainjob_object(client: Any, name: str) -> dict | None:
    """The TrainJob as the API server holds it; None with the container backend, which keeps no object."""
    backend = getattr(client, "backend", None)
    if backend is None or not hasattr(backend, "custom_api"):
        return None
    from kubeflow.trainer.constants import constants

    return backend.custom_api.get_namespaced_custom_object(
        constants.GROUP, constants.VERSION, backend.namespace, constants.TRAINJOB_PLURAL, name
    )


def check_patches_kept(client: Any, name: str) -> None:
    """A Trainer older than 2.2 prunes ``runtimePatches`` without a word: the nodes would then mount nothing."""
    body = _trainjob_object(client, name)
    if body is not None and not body.get("spec", {}).get("runtimePatches"):
        backend = client.backend
        raise TrainJobFailed(
            f"TrainJob {name} lost its runtimePatches (the claim, /dev/shm, the Istio label): this cluster's "
            "Kubeflow Trainer is older than 2.2 and prunes the field; upgrade it. Delete the job with "
            f"`kubectl -n {backend.namespace} delete trainjob {name}`"
        )


def wait_until_started(client: Any, name: str, timeout_s: float) -> str:
    """Wait for node 0 to start (or the job to end): logs asked for earlier come back empty, without an error."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        job = client.get_job(name)
        node0 = next((s.status for s in job.steps if s.name.endswith("node-0")), None)
        if (node0, job.status) != last:
            log.info("TrainJob %s: %s, node 0 %s", name, job.status, node0 or "not created yet")
            last = (node0, job.status)
        if job.status in ("Complete", "Failed") or node0 in ("Running", "Succeeded", "Failed"):
            return str(job.status)
        time.sleep(POLL_SECONDS)
    raise TrainJobFailed(f"TrainJob {name}: node 0 had not started after {timeout_s:.0f} s (see `kubectl get pods`)")


def failure_reason(client: Any, name: str) -> str:
    """The TrainJob's own Failed condition (the SDK's Kubernetes backend says only 'is Failed')."""
    try:
        body = _trainjob_object(client, name)
    except Exception:  # noqa: BLE001 - the reason is a courtesy; the failure stands without it
        return ""
    if body is None:
        return ""
    failed = [
        c
        for c in body.get("status", {}).get("conditions", [])
        if c.get("type") == "Failed" and c.get("status") == "True"
    ]
    return f"{failed[0].get('reason', '')}: {failed[0].get('message', '')}" if failed else ""


class _Terminated(BaseException):
    """SIGTERM reached the launcher (its run was terminated): unwind so the job is deleted on the way out."""


def _raise_terminated(signal_number: int, _frame: object) -> None:
    raise _Terminated(signal_number)


def run_trainjob(
    client: Any,
    datasets: list[Path],
    split: Path,
    out: Path,
    params: TrainParams,
    settings: TrainJobSettings,
    volume: SharedVolume | None,
    pretrained: str | None = None,
    name: str | None = None,
) -> Manifest:
    """Train with a TrainJob and publish its model at ``out``; ``volume`` None = the container backend's work directory.

    A failed job fails here with the job's own message (its Failed condition on a cluster, the SDK's per-node exit
    codes and log tails on Docker) and is kept for inspection, with the command that deletes it; a job whose launcher
    is terminated (SIGTERM: the run was stopped) is deleted, so it does not hold its GPUs. Nothing is written at
    ``out`` unless the job completes.
    """
    from kubeflow.trainer import CustomTrainer
    from kubeflow.trainer.options import Name

    params.check()
    settings.check()
    processes = settings.nodes * max(settings.gpus, 1)
    batch = params.resolved().batch_size
    if batch % processes:
        raise ParameterError(
            "--batch-size",
            f"{batch} does not divide among the TrainJob's {processes} processes "
            f"({settings.nodes} nodes x {max(settings.gpus, 1)}); use a multiple of {processes}",
        )
    datasets, split, out = [Path(d) for d in datasets], Path(split), Path(out)
    prepare_output(out, True, "model", [*datasets, split])
    key = job_key(datasets, split, params, pretrained)
    name = name or job_name(key)
    options: list = []
    if volume is None:  # the container backend: this job's work directory is the volume every node mounts
        volume = SharedVolume(container_workdir(name), CONTAINER_WORKSPACE)
    else:
        options = kubernetes_options(settings, str(volume.there))
    root = volume.here / "trashseg-trainjobs" / key
    staged = stage_inputs([*datasets, split], root / "inputs")
    if (
        pretrained and Path(pretrained).is_dir()
    ):  # a folder only the launcher sees (an imported artifact): the nodes need it too
        pretrained = volume.for_nodes(stage_folder(Path(pretrained), root / "inputs"))
    checkpoints = writable_by_nodes(root / "checkpoints")
    node_out = writable_by_nodes(root / "runs" / name) / "model"
    argv = train_arguments(
        [Path(volume.for_nodes(d)) for d in staged[:-1]],
        Path(volume.for_nodes(staged[-1])),
        Path(volume.for_nodes(node_out)),
        params,
        pretrained,
        Path(volume.for_nodes(checkpoints)),
        resume=True,
        overwrite=True,
    )
    env = {"TRASHSEG_PROGRESS": "0", "PYTHONUNBUFFERED": "1"}
    env.update(
        {k: os.environ[k] for k in ("HF_HUB_CACHE", "HF_HUB_OFFLINE") if k in os.environ}
    )  # the launcher's hub settings
    trainer = CustomTrainer(
        func=trainer_entry,
        func_args={"argv": argv},
        image=settings.image,
        num_nodes=settings.nodes,
        resources_per_node=settings.resources(),
        env=env,
    )
    log.info(
        "submitting TrainJob %s: %d node(s) x %s, image %s, runtime %s",
        name,
        settings.nodes,
        settings.resources(),
        settings.image,
        settings.runtime,
    )
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if _main_thread() else None
    outcome = "submitting"
    try:
        _submit(client, trainer, settings, [Name(name=name), *options])
        outcome = "running"
        check_patches_kept(client, name)
        manifest = _follow(client, name, settings, node_out, out, [*datasets, split])
        outcome = "complete"
        return manifest
    except TrainJobFailed:
        outcome = "failed"
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        _clean_up(client, name, outcome, settings)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _follow(
    client: Any, name: str, settings: TrainJobSettings, node_out: Path, out: Path, inputs: list[Path]
) -> Manifest:
    """Stream the job's logs once it runs, wait for its end, and publish what rank 0 wrote."""
    errors: list[str] = []  # the trainers' own one-line errors (torchrun's summary hides them from the SDK's log tail)
    wait_until_started(client, name, settings.timeout_s)
    for chunk in client.get_job_logs(name, follow=True):
        for line in chunk.splitlines():
            log.info("[%s] %s", name, line)
            if line.lstrip().startswith("error:") and line.strip() not in errors:
                errors.append(line.strip())
    try:  # a Failed job raises here
        client.wait_for_job_status(name, status={"Complete"}, timeout=settings.timeout_s)
    except (RuntimeError, TimeoutError) as err:
        raise TrainJobFailed("\n".join([*errors[:3], str(err), failure_reason(client, name)]).strip()) from None
    if not (node_out / "manifest.json").is_file():
        raise TrainJobFailed(f"TrainJob {name} completed without writing its model at {node_out}")
    manifest = read_manifest(node_out, "model", (1,))
    with atomic_directory(out, True, "model", inputs) as tmp:
        shutil.copytree(node_out, tmp, dirs_exist_ok=True)
    log.info("TrainJob %s finished: model %s published at %s", name, manifest.content_hash[:12], out)
    return manifest


def _clean_up(client: Any, name: str, outcome: str, settings: TrainJobSettings) -> None:
    """Delete a completed or abandoned job; on a cluster keep a failed one (its pods and conditions) for whoever looks
    into it (the container backend's failed containers go: their logs are already in the task log)."""
    if outcome == "submitting":
        return
    if outcome == "failed" and settings.backend == "kubernetes":
        where = f"-n {settings.namespace} " if settings.namespace else ""
        log.error(
            "TrainJob %s failed and is kept for inspection: `kubectl %sdescribe trainjob %s`, its pods' logs with "
            "`kubectl %slogs -l jobset.sigs.k8s.io/jobset-name=%s`; delete it with `kubectl %sdelete trainjob %s`",
            name,
            where,
            name,
            where,
            name,
            where,
            name,
        )
        return
    try:
        client.delete_job(name)
    except Exception as err:  # noqa: BLE001 - cleanup must not hide the job's own outcome
        log.warning("could not delete TrainJob %s: %s", name, err)
