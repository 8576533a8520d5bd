"""The TrainJob launcher's own logic, without a cluster: what it stages, what it asks Kubernetes for, what it refuses.

The launcher end to end (2 nodes through the kubeflow SDK's Docker backend, the model consumed by infer) is in
tests/test_containers.py, beside the image it needs.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from trashseg.components.train.trainjob import (CONTAINER_WORKSPACE, NODE_CONTAINER, SharedVolume, TrainJobSettings, job_key, job_name,
                                       kubernetes_options, local_runtime, stage_inputs)
from trashseg.data_contracts.errors import ContractError


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
    assert volume.for_nodes(tmp_path / "work" / "trashseg-trainjobs" / "k" / "model") == "/workspace/trashseg-trainjobs/k/model"
    with pytest.raises(ValueError):
        volume.for_nodes(tmp_path / "elsewhere")


def test_a_retry_gets_a_new_job_but_the_same_checkpoints(sample_dataset, sample_split):
    from trashseg.components.train.logic import TrainParams

    params = TrainParams(model="upernet-convnext-tiny", epochs=1, image_size=64)
    key = job_key([sample_dataset], sample_split, params)
    assert key == job_key([sample_dataset], sample_split, params)
    assert key != job_key([sample_dataset], sample_split, TrainParams(model="upernet-convnext-tiny", epochs=2, image_size=64))
    names = {job_name(key) for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("trashseg-") and len(n) <= 63 and n.islower() for n in names)


def test_kubernetes_patch_mounts_the_claim_in_every_node_and_places_them():
    from kubeflow.trainer.options.kubernetes import _patch_to_dict

    settings = TrainJobSettings(image="registry/trashseg-gpu:1", node_selector={"nvidia.com/gpu.product": "H100"},
                                tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    (patch,) = kubernetes_options("shared-claim", "/mnt/shared", settings)
    body = _patch_to_dict(patch)
    (node_job,) = body["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    assert node_job["name"] == NODE_CONTAINER
    pod = node_job["template"]["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    assert volume["persistentVolumeClaim"] == {"claimName": "shared-claim"}
    (container,) = pod["containers"]
    assert container["name"] == NODE_CONTAINER
    assert container["volumeMounts"] == [{"name": volume["name"], "mountPath": "/mnt/shared"}]
    assert pod["nodeSelector"] == settings.node_selector and pod["tolerations"] == settings.tolerations


def test_settings_are_checked_before_anything_is_submitted():
    assert TrainJobSettings(image="x", gpus_per_node=0).resources() == {"cpu": 8, "memory": "32Gi"}
    assert TrainJobSettings(image="x", gpus_per_node=4).resources()["gpu"] == 4
    for bad, field in ((dict(nodes=0), "--nodes"), (dict(gpus_per_node=-1), "--gpus-per-node"), (dict(image=""), "--image"),
                       (dict(memory_per_node="lots"), "--memory-per-node")):
        with pytest.raises(ContractError, match=field):
            TrainJobSettings(**{"image": "x", **bad}).check()


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
        run_trainjob(NeverCalled(), [sample_dataset], sample_split, tmp_path / "model", TrainParams(model="upernet-convnext-tiny",
                     batch_size=6), TrainJobSettings(image="x", nodes=2, gpus_per_node=2), None)
    assert not (tmp_path / "model").exists()


def test_an_imported_pretrained_folder_is_staged_for_the_nodes_by_content(tmp_path):
    from trashseg.components.train.trainjob import stage_folder

    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    first = stage_folder(folder, tmp_path / "inputs")
    assert stage_folder(folder, tmp_path / "inputs") == first and (first / "model.safetensors").read_bytes() == b"\x00" * 64
    (folder / "config.json").write_text('{"changed": true}')
    assert stage_folder(folder, tmp_path / "inputs") != first  # new content, new name: a node never reads a stale copy
