"""The TrainJob launcher's own logic, without a cluster: what it stages, what it asks Kubernetes for, what it refuses.

The launcher end to end (2 nodes through the kubeflow SDK's Docker backend, the model consumed by infer) is in
tests/containers/test_containers.py, beside the image it needs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import pytest

from trashseg.components.train.trainjob import (
    CONTAINER_WORKSPACE,
    NODE_CONTAINER,
    SharedVolume,
    TrainJobFailed,
    TrainJobSettings,
    job_key,
    job_name,
    kubernetes_options,
    local_runtime,
    run_trainjob,
    runtime_patch,
    stage_inputs,
)
from trashseg.data_contracts.errors import ContractError

REPO = Path(__file__).resolve().parents[2]


def test_inputs_are_staged_once_under_their_content_hash(sample_dataset, sample_split, tmp_path):
    first = stage_inputs([sample_dataset, sample_split], tmp_path / "inputs")
    manifest = json.loads((sample_dataset / "manifest.json").read_text())
    assert first[0].name == f"dataset-{manifest['content_hash'][:16]}" and first[1].name.startswith("split-")
    assert sorted(p.name for p in first[0].iterdir()) == sorted(p.name for p in sample_dataset.iterdir())
    marker = first[0] / "manifest.json"
    before = marker.stat().st_mtime_ns
    second = stage_inputs([sample_dataset, sample_split], tmp_path / "inputs")  # a retried launcher
    assert second == first and marker.stat().st_mtime_ns == before  # reused, not copied again
    assert not [p for p in (tmp_path / "inputs").iterdir() if p.name.startswith(".")]  # no half-copies left


def test_paths_are_translated_for_the_nodes(tmp_path):
    volume = SharedVolume(tmp_path / "work", CONTAINER_WORKSPACE)
    assert (
        volume.for_nodes(tmp_path / "work" / "trashseg-trainjobs" / "k" / "model")
        == "/workspace/trashseg-trainjobs/k/model"
    )
    with pytest.raises(ValueError):
        volume.for_nodes(tmp_path / "elsewhere")


def test_a_retry_gets_a_new_job_but_the_same_checkpoints(sample_dataset, sample_split):
    from trashseg.components.train.logic import TrainParams

    params = TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=64)
    key = job_key([sample_dataset], sample_split, params)
    assert key == job_key([sample_dataset], sample_split, params)
    assert key != job_key(
        [sample_dataset], sample_split, TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=96)
    )
    assert key == job_key(
        [sample_dataset], sample_split, TrainParams(preset="upernet-convnext-tiny", epochs=9, image_size=64)
    )  # more epochs: the same run, resumed
    names = {job_name(key) for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("trashseg-") and len(n) <= 63 and n.islower() for n in names)


CLUSTER = TrainJobSettings(
    image="registry/trashseg-gpu@sha256:" + "0" * 64,
    claim="shared-claim",
    service_account="trainer",
    image_pull_secrets=["registry-pull"],
    node_selector={"nvidia.com/gpu.product": "H100"},
    tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    hub_cache_claim="hub-cache",
    hub_cache_mount="/mnt/hub",
)


def test_the_patch_gives_every_node_the_claim_shm_istio_label_and_group():
    (node_job,) = runtime_patch(CLUSTER, "/mnt/shared")["template"]["spec"]["replicatedJobs"]
    assert node_job["name"] == NODE_CONTAINER
    template = node_job["template"]["spec"]["template"]
    assert template["metadata"]["labels"] == {
        "sidecar.istio.io/inject": "false"
    }  # a label: Istio's annotation is deprecated
    pod = template["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (container,) = pod["containers"]
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert container["name"] == NODE_CONTAINER
    assert mounts["/mnt/shared"]["persistentVolumeClaim"] == {"claimName": "shared-claim"}
    assert mounts["/dev/shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    assert mounts["/mnt/hub"]["persistentVolumeClaim"] == {"claimName": "hub-cache"}
    assert pod["securityContext"]["fsGroup"] == 1000  # the images' numeric group may write the claim
    assert pod["serviceAccountName"] == "trainer" and pod["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert pod["nodeSelector"] == CLUSTER.node_selector and pod["tolerations"] == CLUSTER.tolerations


def _trainjob_body(tmp_path: Path) -> dict:
    """The TrainJob the kubeflow SDK sends for the launcher's job: its own backend's train(), capturing the request."""
    import yaml
    from kubeflow.trainer import CustomTrainer
    from kubeflow.trainer.backends.kubernetes.backend import KubernetesBackend
    from kubeflow.trainer.options import Name
    from kubeflow_trainer_api import models

    class CapturingCustomObjects:
        body: dict = {}

        def create_namespaced_custom_object(self, group, version, namespace, plural, body):
            CapturingCustomObjects.body = body

    backend = object.__new__(KubernetesBackend)  # no kubeconfig: only the request is wanted
    backend.namespace, backend.custom_api = "my-profile", CapturingCustomObjects()
    runtime_cr = models.TrainerV1alpha1ClusterTrainingRuntime.from_dict(
        yaml.safe_load(local_runtime(CLUSTER.image, tmp_path).read_text())
    )
    runtime = backend._KubernetesBackend__get_runtime_from_cr(runtime_cr)

    def entry(argv):
        print(argv)

    trainer = CustomTrainer(
        func=entry,
        func_args={"argv": ["train"]},
        image=CLUSTER.image,
        num_nodes=2,
        resources_per_node=CLUSTER.resources(),
        env={"TRASHSEG_PROGRESS": "0"},
    )
    backend.train(
        runtime=runtime,
        trainer=trainer,
        options=[Name(name="trashseg-abc"), *kubernetes_options(CLUSTER, "/mnt/shared")],
    )
    return CapturingCustomObjects.body


def _closed(schema):
    """Unknown fields an object's schema does not list are pruned by the API server: refuse them here instead."""
    import copy

    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def test_the_trainjob_validates_against_the_trainer_v2_3_api(tmp_path):
    """Against the JSON Schema of kubeflow-trainer-api 2.3.0's TrainJob model (generated from Trainer v2.3.0's API),
    with
    unknown fields refused; the patch survives the round trip through the SDK's own model classes."""
    import jsonschema
    from kubeflow_trainer_api import models

    body = _trainjob_body(tmp_path)
    (patch,) = body["spec"]["runtimePatches"]
    assert patch["trainingRuntimeSpec"] == runtime_patch(CLUSTER, "/mnt/shared")
    schema = models.TrainerV1alpha1TrainJob.model_json_schema(by_alias=True)
    for name, definition in schema[
        "$defs"
    ].items():  # the generator's one-of wrappers (Quantity) are plain values on the wire
        if "actual_instance" in definition.get("properties", {}):
            schema["$defs"][name] = {
                "anyOf": [t for t in definition["properties"]["actual_instance"]["anyOf"] if t != {"type": "null"}]
            }
    jsonschema.Draft7Validator(_closed(schema)).validate(body)
    again = models.TrainerV1alpha1TrainJob.from_dict(body).to_dict()
    assert again["spec"]["runtimePatches"] == body["spec"]["runtimePatches"]
    broken = json.loads(json.dumps(body))
    broken["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]["template"][
        "spec"
    ]["template"]["spec"]["shmSize"] = "16Gi"  # no such field: the validator must say so
    with pytest.raises(jsonschema.ValidationError, match="shmSize"):
        jsonschema.Draft7Validator(_closed(schema)).validate(broken)


def _crd_schema(name: str) -> dict:
    import os

    import yaml

    for folder in filter(None, (os.environ.get("TRASHSEG_CRD_DIR"), str(REPO.parent / "shared" / "crds"))):
        for path in Path(folder).rglob(name):
            return yaml.safe_load(path.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    pytest.skip(
        f"no {name} here: put Kubeflow Trainer v2.3.0's manifests/base/crds/{name} in ../shared/crds/ or "
        "TRASHSEG_CRD_DIR"
    )


def test_the_trainjob_validates_against_the_trainer_v2_3_crd(tmp_path):
    """The CRD's own openAPIV3Schema (Trainer v2.3.0) where it is at hand: what the API server checks and prunes by."""
    import jsonschema

    schema = _crd_schema("trainer.kubeflow.org_trainjobs.yaml")
    jsonschema.Draft7Validator(_closed(schema)).validate(_trainjob_body(tmp_path))


def test_settings_are_checked_before_anything_is_submitted():
    assert TrainJobSettings(image="x", gpus=0).resources() == {"cpu": 8, "memory": "32Gi"}
    assert TrainJobSettings(image="x", gpus=4).resources()["gpu"] == 4
    for bad, field in (
        (dict(nodes=0), "--nodes"),
        (dict(gpus=-1), "--gpus"),
        (dict(image=""), "--image"),
        (dict(memory_per_node="lots"), "--memory-per-node"),
        (dict(claim=""), "--checkpoint-claim"),
        (dict(backend="slurm"), "--backend"),
    ):
        with pytest.raises(ContractError, match=field):
            TrainJobSettings(**{"image": "x", "claim": "c", **bad}).check()
    with pytest.raises(ContractError, match="trainjob: unknown setting 'gpu'"):
        TrainJobSettings.from_task({"gpu": 2})


def test_local_runtime_is_one_the_sdk_parses(tmp_path):
    from kubeflow.trainer.backends.container.runtime_loader import get_training_runtime_from_sources

    path = local_runtime("trashseg-cpu:0.1.0", tmp_path)
    runtime = get_training_runtime_from_sources("torch-distributed", [str(path)])
    assert runtime.trainer.image == "trashseg-cpu:0.1.0" and runtime.trainer.framework == "torch"
    assert PurePosixPath(str(path)).name == "torch-distributed.yaml" and Path(path).parent == tmp_path


def test_a_batch_the_processes_cannot_share_is_refused_before_submitting(sample_dataset, sample_split, tmp_path):
    from trashseg.components.train.logic import TrainParams
    from trashseg.components.train.trainjob import run_trainjob

    class NeverCalled:
        def __getattr__(self, name):
            raise AssertionError(f"the client was used ({name}) although the input was bad")

    with pytest.raises(ContractError, match="does not divide among the TrainJob's 4 processes"):
        run_trainjob(
            NeverCalled(),
            [sample_dataset],
            sample_split,
            tmp_path / "model",
            TrainParams(preset="upernet-convnext-tiny", batch_size=6),
            TrainJobSettings(image="x", nodes=2, gpus=2, backend="container"),
            None,
        )
    assert not (tmp_path / "model").exists()


def test_an_imported_pretrained_folder_is_staged_for_the_nodes_by_content(tmp_path):
    from trashseg.components.train.trainjob import stage_folder

    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    first = stage_folder(folder, tmp_path / "inputs")
    assert (
        stage_folder(folder, tmp_path / "inputs") == first
        and (first / "model.safetensors").read_bytes() == b"\x00" * 64
    )
    (folder / "config.json").write_text('{"changed": true}')
    assert stage_folder(folder, tmp_path / "inputs") != first  # new content, new name: a node never reads a stale copy


class ScriptedCluster:
    """The kubeflow SDK's TrainerClient as a cluster answers it, scripted: how the launcher reacts to each answer.
    (The real SDK end to end, with its Docker backend and a 2-node job, is in tests/containers/test_containers.py.)"""

    class Api(Exception):
        def __init__(self, status: int, reason: str):
            super().__init__(reason)
            self.status, self.reason = status, reason

    def __init__(
        self,
        states=("Pending", "Running"),
        outcome="Failed",
        runtime_status=None,
        create_status=None,
        keep_patches=True,
        on_logs=None,
    ):
        from types import SimpleNamespace

        self.calls: list[str] = []
        self.states, self.outcome = list(states), outcome
        self.runtime_status, self.create_status, self.keep_patches, self.on_logs = (
            runtime_status,
            create_status,
            keep_patches,
            on_logs,
        )
        self.submitted: dict = {}
        cluster = self

        class CustomObjects:
            def get_namespaced_custom_object(self, group, version, namespace, plural, name):
                spec = {"runtimePatches": [{"manager": "sdk"}]} if cluster.keep_patches else {}
                conditions = [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "NodeFailed",
                        "message": "node-1 exited with code 137",
                    }
                ]
                return {"spec": spec, "status": {"conditions": conditions if cluster.outcome == "Failed" else []}}

        self.backend = SimpleNamespace(custom_api=CustomObjects(), namespace="my-profile")
        self.SimpleNamespace = SimpleNamespace

    def _refuse(self, status: int, reason: str):
        try:
            raise self.Api(status, reason)
        except self.Api as cause:
            raise RuntimeError("the SDK's wrapper") from cause

    def get_runtime(self, name):
        self.calls.append("get_runtime")
        if self.runtime_status:
            self._refuse(self.runtime_status, "Not Found")
        return name

    def train(self, runtime, trainer, options):
        self.calls.append("train")
        if self.create_status:
            self._refuse(self.create_status, "Forbidden")
        self.submitted = {"trainer": trainer, "options": options}

    def get_job(self, name):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        self.calls.append(f"get_job:{state}")
        step = self.SimpleNamespace(name="node-0", status=state)
        return self.SimpleNamespace(status="Created", steps=[step])

    def get_job_logs(self, name, follow=True):
        self.calls.append("logs")
        if self.on_logs:
            self.on_logs()
        yield "epoch 1: loss 2.0\nerror: --pretrained: not in the cache"

    def wait_for_job_status(self, name, status, timeout):
        self.calls.append("wait")
        if self.outcome == "Failed":
            raise RuntimeError(f"TrainJob {name} is Failed")

    def delete_job(self, name):
        self.calls.append("delete")


def _launch(cluster, sample_dataset, sample_split, tmp_path, monkeypatch):
    import trashseg.components.train.trainjob as launcher
    from trashseg.components.train.logic import TrainParams

    monkeypatch.setattr(launcher, "POLL_SECONDS", 0.01)
    volume = SharedVolume(tmp_path / "claim", PurePosixPath("/mnt/claim"))
    settings = TrainJobSettings(image="x", claim="c", nodes=2, gpus=1)
    return run_trainjob(
        cluster,
        [sample_dataset],
        sample_split,
        tmp_path / "model",
        TrainParams(preset="upernet-convnext-tiny", batch_size=8),
        settings,
        volume,
    )


def test_a_failed_job_names_its_cause_and_is_kept_for_inspection(
    sample_dataset, sample_split, tmp_path, monkeypatch, caplog
):
    cluster = ScriptedCluster(states=("Pending", "Pending", "Running"))
    with pytest.raises(TrainJobFailed) as failed:
        _launch(cluster, sample_dataset, sample_split, tmp_path, monkeypatch)
    message = str(failed.value)
    assert "error: --pretrained: not in the cache" in message and "NodeFailed: node-1 exited with code 137" in message
    assert (
        "delete" not in cluster.calls and "kubectl delete trainjob trashseg-" in caplog.text
    )  # kept, and how to delete it
    # logs are asked for only once node 0 runs (earlier they come back empty, without an error)
    assert cluster.calls.index("logs") > cluster.calls.index("get_job:Running") > cluster.calls.index("get_job:Pending")
    assert not (tmp_path / "model").exists()
    (patch,) = [
        o for o in cluster.submitted["options"] if type(o).__name__ == "RuntimePatch"
    ]  # one patch, as the API wants


def test_a_terminated_launcher_deletes_its_job(sample_dataset, sample_split, tmp_path, monkeypatch):
    import os
    import signal

    cluster = ScriptedCluster(outcome="Complete", on_logs=lambda: os.kill(os.getpid(), signal.SIGTERM))
    with pytest.raises(BaseException) as stopped:
        _launch(cluster, sample_dataset, sample_split, tmp_path, monkeypatch)
    assert type(stopped.value).__name__ == "_Terminated"
    assert cluster.calls[-1] == "delete"  # the run was stopped: its TrainJob does not keep holding GPUs
    assert signal.getsignal(signal.SIGTERM) is not None and not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    "cluster, expected",
    [
        (
            ScriptedCluster(runtime_status=404),
            "no ClusterTrainingRuntime 'torch-distributed' (404 Not Found): Kubeflow Trainer's Helm chart",
        ),
        (
            ScriptedCluster(create_status=403),
            "403 Forbidden): the pipeline's service account may not create TrainJobs here",
        ),
        (ScriptedCluster(keep_patches=False), "lost its runtimePatches"),
    ],
    ids=["no-runtime", "no-rbac", "old-trainer"],
)
def test_what_a_cluster_refuses_is_one_clear_error(
    cluster, expected, sample_dataset, sample_split, tmp_path, monkeypatch
):
    with pytest.raises(TrainJobFailed, match=re.escape(expected)):
        _launch(cluster, sample_dataset, sample_split, tmp_path, monkeypatch)
    assert "logs" not in cluster.calls and not (tmp_path / "model").exists()
