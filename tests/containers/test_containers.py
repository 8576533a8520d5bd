"""Container tests: the CPU image built from a locally made Debian base, every component run inside it
as the compiled pipeline runs it (kfp's DockerRunner), and the main pipeline end to end on the images.

Selected with ``-m containers`` (``make test-containers``); skipped, with the reason, where no Docker
engine answers or no base image can be made. ``.ci/run`` installs Debian's docker.io and starts dockerd.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kfp import dsl, local

from tests.alone import alone_pipeline, check_outputs
from tests.reference import pinned_version, sklearn_miou
from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE
from trashseg.data_contracts.artifact import read_manifest
from trashseg.data_contracts.submission import read_submission

pytestmark = pytest.mark.containers
REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "trashseg-base:bookworm"
TIMINGS: dict[str, float] = {}


def _build_module():
    spec = importlib.util.spec_from_file_location("build_images", REPO / "docker" / "build_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as err:  # noqa: BLE001 - any failure to reach the engine means: skip, and say why
        pytest.skip(f"no Docker engine reachable ({err}); .ci/run installs docker.io and starts dockerd")
    return client


@pytest.fixture(scope="session")
def images(docker_client):
    """Build (or reuse) the base and the CPU image; the CPU image is also tagged as the GPU one for local runs."""
    import docker

    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        if shutil.which("debootstrap") is None:
            pytest.skip("no base image and no debootstrap to make one (apt-get install debootstrap)")
        started = time.perf_counter()
        subprocess.run([str(REPO / "docker" / "make_base.sh"), BASE_IMAGE], check=True)
        TIMINGS["base_image_s"] = time.perf_counter() - started
    build = _build_module()
    TIMINGS["cpu_image_build_s"] = build.build_image("cpu", [CPU_IMAGE], BASE_IMAGE)
    if (
        _kind_label(docker_client, GPU_IMAGE) != "gpu"
    ):  # no real GPU image here (2.6 GB of CUDA wheels): train/infer on the CPU one
        docker_client.images.get(CPU_IMAGE).tag(*GPU_IMAGE.rsplit(":", 1))
    print(f"\ncontainer build times: {json.dumps({k: round(v, 1) for k, v in TIMINGS.items()})}")
    return CPU_IMAGE


def _kind_label(client, tag: str) -> str | None:
    import docker

    try:
        return (client.images.get(tag).labels or {}).get("org.trashseg.kind")
    except docker.errors.ImageNotFound:
        return None


def test_gpu_image_has_the_pinned_cuda_torch(docker_client):
    """The GPU image (``make images``): Debian base, PyPI's CUDA build of the pinned torch, non-root."""
    if _kind_label(docker_client, GPU_IMAGE) != "gpu":
        pytest.skip(f"{GPU_IMAGE} is not built here (make images; its CUDA wheels are 2.6 GB, so CI leaves it out)")
    script = (
        "import os, torch; print(os.getuid(), torch.__version__, torch.version.cuda, torch.backends.cudnn.version())"
    )
    output = docker_client.containers.run(GPU_IMAGE, ["python3", "-c", script], remove=True).decode().split()
    uid, torch_version, cuda_version, cudnn_version = output
    assert uid != "0" and torch_version.split("+")[0] == pinned_version("torch")
    assert torch_version.endswith(f"+cu{cuda_version.replace('.', '')}")  # e.g. 2.13.0+cu130: the CUDA build, not +cpu
    assert cuda_version != "None" and int(cudnn_version) > 0
    os_release = docker_client.containers.run(GPU_IMAGE, ["cat", "/etc/os-release"], remove=True).decode()
    assert "VERSION_CODENAME=bookworm" in os_release


def test_image_runs_as_non_root_without_caches_and_with_pinned_kfp(docker_client, images):
    script = (
        "id -u; python3 -c 'import kfp, torch; print(kfp.__version__, torch.__version__)'; "
        "ls /tmp/wheels /tmp/project /root/.cache/pip 2>/dev/null | wc -l; env | grep -ci -E 'token|secret|password' "
        "|| true"
    )
    output = docker_client.containers.run(images, ["sh", "-c", script], remove=True).decode().split()
    uid, kfp_version, torch_version, leftovers, secrets = output
    assert uid == "1000"
    config = docker_client.images.get(images).attrs["Config"]
    assert config["User"] == "1000:1000"  # numeric: a kubelet enforcing runAsNonRoot can verify it
    assert not any(
        variable.startswith("HF_HUB_OFFLINE=") for variable in config["Env"]
    )  # the hub is reachable by default
    assert kfp_version == pinned_version("kfp") and torch_version.split("+")[0] == pinned_version("torch")
    assert leftovers == "0" and secrets == "0"


def _run_alone(case: str, root: Path, inputs: dict[str, Path]) -> None:
    from trashseg.pipelines.run_local import docker_runner

    local.init(runner=docker_runner(), pipeline_root=str(root), raise_on_error=True)
    alone_pipeline(case, inputs)()


@pytest.fixture(scope="module")
def container_inputs(tmp_path_factory, learn_data, sample_root):
    """Inputs inside the pipeline root: the only directory the DockerRunner mounts."""
    from trashseg.components.infer.logic import InferParams, run_infer
    from trashseg.components.train.logic import TrainParams, run_train

    root = tmp_path_factory.mktemp("containers").resolve()
    inputs = root / "inputs"
    dataset, split = learn_data
    shutil.copytree(dataset, inputs / "dataset")
    shutil.copytree(split, inputs / "split")
    shutil.copytree(sample_root / "train", inputs / "coco")
    run_train(
        [inputs / "dataset"],
        inputs / "split",
        inputs / "model",
        TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=64),
    )
    run_infer(inputs / "model", inputs / "dataset", inputs / "pred", InferParams(save_probs=True))
    return root, {
        "dataset": inputs / "dataset",
        "split": inputs / "split",
        "model": inputs / "model",
        "pred": inputs / "pred",
        "raw": inputs / "coco",
    }


@pytest.mark.parametrize(
    "case", ["ingest", "split", "augment", "train", "infer", "evaluate", "pseudo_label", "ensemble", "submit"]
)
def test_component_runs_in_the_image(case, images, container_inputs):
    root, inputs = container_inputs
    started = time.perf_counter()
    _run_alone(case, root, inputs)
    TIMINGS[f"component_{case}_s"] = time.perf_counter() - started
    check_outputs(root, case, images=72)  # validated on the host


def test_main_pipeline_with_the_docker_runner(images, sample_root, tmp_path):
    from trashseg.pipelines.run_local import run_local

    root = tmp_path.resolve() / "root"
    shutil.copytree(sample_root, root / "data")
    started = time.perf_counter()
    summary = run_local(
        "trashseg",
        root / "data",
        root,
        runner="docker",
        params={"epochs": 1, "folds": 3, "paste_counts": {"Battery": 2, "Clothing": 2}},
    )
    TIMINGS["main_pipeline_docker_s"] = time.perf_counter() - started
    assert len(list(read_submission(Path(summary["outputs"]["submission"]), 256, 11))) == 8
    from trashseg.components.ingest.logic import run_ingest

    run_ingest(root / "data" / "train" / "annotations.json", root / "data" / "train" / "images", tmp_path / "truth")
    scored = Path(summary["outputs"]["validation_predictions"])
    assert summary["metrics"]["miou"] == pytest.approx(sklearn_miou(scored, tmp_path / "truth"), abs=1e-9)
    print(f"\ncontainer timings: {json.dumps({k: round(v, 1) for k, v in TIMINGS.items()})}")


@pytest.fixture(scope="module")
def local_registry(tmp_path_factory):
    """Debian's docker-registry (the distribution registry v2) on a free localhost port, stopped afterwards."""
    import socket
    import urllib.request

    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("Debian's docker-registry is not installed (.ci/run installs it)")
    root = tmp_path_factory.mktemp("registry")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with open(root / "registry.log", "wb") as log_file:
        server = subprocess.Popen([binary, "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"docker-registry did not answer: {(root / 'registry.log').read_text()[-2000:]}")
        yield f"localhost:{port}/trashseg"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_images_pushed_to_a_registry_pull_back_and_run_a_component(
    docker_client, images, local_registry, container_inputs
):
    """make images REGISTRY=... / make push against a real registry: push, drop the local tags, pull, run a
    component."""
    import urllib.request

    from trashseg.components.common.images import image_for
    from trashseg.components.split.component import split_op
    from trashseg.pipelines.compile import compile_all, registry_images
    from trashseg.pipelines.run_local import docker_runner
    from trashseg.pipelines.topology import Topology

    build = _build_module()
    registry = local_registry
    started = time.perf_counter()
    tagged = build.tag_for_registry(registry)
    pushed = build.push(registry)
    TIMINGS["push_s"] = time.perf_counter() - started
    assert sorted(pushed) == sorted(tagged) and len(pushed) == 4  # cpu and gpu, each VERSION and VERSION-COMMIT
    host = registry.split("/")[0]
    with urllib.request.urlopen(f"http://{host}/v2/_catalog") as answer:
        assert json.load(answer) == {"repositories": ["trashseg/trashseg-cpu", "trashseg/trashseg-gpu"]}

    cpu_in_registry = image_for("cpu", registry)
    local_id = docker_client.images.get(CPU_IMAGE).id
    for tag in pushed:
        docker_client.images.remove(tag)
    import docker

    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(cpu_in_registry)
    pulled = docker_client.images.pull(*cpu_in_registry.rsplit(":", 1))
    assert pulled.id == local_id  # content-addressed: the very image that was built

    root, inputs = container_inputs
    images = registry_images(registry)  # what the registry answered for each push: the compile names those digests
    assert images.cpu.startswith(f"{registry}/trashseg-cpu@sha256:") and images.gpu.startswith(
        f"{registry}/trashseg-gpu@sha256:"
    )
    assert docker_client.images.pull(images.cpu).id == local_id  # by digest: the very image that was built
    for path in compile_all(root / "compiled", Topology(images=images)):
        executors = yaml.safe_load_all(path.read_text()).__next__()["deploymentSpec"]["executors"]
        images_in_yaml = {body["container"]["image"] for body in executors.values() if "container" in body}
        assert images_in_yaml == {images.cpu, images.gpu}, path

    split_from_registry = dsl.component(base_image=cpu_in_registry, install_kfp_package=False)(split_op.python_func)

    @dsl.pipeline(name="from-registry")
    def from_registry():
        split_from_registry(
            dataset=dsl.importer(artifact_uri=str(inputs["dataset"]), artifact_class=dsl.Dataset).output,
            folds=3,
            seed=1,
        )

    local.init(runner=docker_runner(), pipeline_root=str(root), raise_on_error=True)
    from_registry()
    (split_dir,) = root.glob("from-registry-*/*/split")
    images_in_dataset = read_manifest(inputs["dataset"], "dataset", (1,)).rows["images"]
    assert read_manifest(split_dir, "split", (1,)).rows["images"] == images_in_dataset  # every image got a fold
    docker_client.images.remove(cpu_in_registry)


def test_two_node_trainjob_publishes_a_model_the_pipeline_consumes(
    docker_client, images, container_inputs, tmp_path, monkeypatch
):
    """The launcher component, run by kfp.local, submits a 2-node x 1-process CPU TrainJob through the kubeflow SDK's
    Docker backend (torchrun across two containers of the CPU image); its model then goes through infer.

    Its weights must match two local torchrun processes given the same global batch: the nodes really trained one
    model together (the tolerance is the one tests/train/test_distributed.py justifies for DDP against one process).
    """
    from safetensors.torch import load_file

    from tests.train.test_distributed import _update_difference
    from trashseg.components.infer.component import infer_op
    from trashseg.components.train.component import train_op
    from trashseg.components.train.launch import run_torchrun, train_arguments
    from trashseg.components.train.logic import TrainParams
    from trashseg.data_contracts.model import ModelArtifact

    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK keeps job work directories under ~/.kubeflow
    root, inputs = container_inputs
    knobs = dict(
        preset="upernet-convnext-tiny",
        epochs=1,
        batch_size=8,
        lr_backbone=1e-3,
        lr_head=3e-3,
        image_size=64,
        seed=5,
        max_steps_per_epoch=3,
        warmup_steps=0,
    )

    @dsl.pipeline(name="trainjob")
    def trainjob():
        dataset = dsl.importer(artifact_uri=str(inputs["dataset"]), artifact_class=dsl.Dataset).output
        split = dsl.importer(artifact_uri=str(inputs["split"]), artifact_class=dsl.Dataset).output
        launched = train_op(
            dataset=dataset,
            split=split,
            nodes=2,
            gpus=0,
            trainjob={"cpus_per_node": 1, "memory_per_node": "2Gi", "image": CPU_IMAGE, "backend": "container"},
            **knobs,
        )
        infer_op(
            model=launched.outputs["model"], dataset=dataset, split=split, test_dataset=dataset, fold=0, tta_flip=False
        )

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"), raise_on_error=True)
    started = time.perf_counter()
    trainjob()
    TIMINGS["trainjob_2_nodes_s"] = time.perf_counter() - started
    (model_dir,) = (tmp_path / "root").glob("trainjob-*/*/model")
    card = ModelArtifact(model_dir).card
    assert card["training"]["processes"] == 2
    (predictions,) = (tmp_path / "root").glob("trainjob-*/*/test_predictions")
    dataset_images = read_manifest(inputs["dataset"], "dataset", (1,)).rows["images"]
    assert read_manifest(predictions, "predictions", (1,)).rows["images"] == dataset_images
    assert not list(
        (tmp_path / ".kubeflow" / "trainer" / "containers").iterdir()
    )  # the job's containers and files are gone
    assert not docker_client.containers.list(all=True, filters={"label": "trainer.kubeflow.org/trainjob-name"})

    params = TrainParams(**knobs)  # the same knobs as the job: the same global batch, steps and schedule
    local_pair = tmp_path / "two-local-processes"
    run_torchrun(2, train_arguments([inputs["dataset"]], inputs["split"], local_pair, params))
    from trashseg.components.models.build import build_model
    from trashseg.components.models.presets import get_preset
    from trashseg.data_contracts.dataset import Dataset

    start = build_model(get_preset("upernet-convnext-tiny"), Dataset(inputs["dataset"]).classes, seed=5).state_dict()
    in_job, on_host = (load_file(str(path / "model.safetensors")) for path in (model_dir, local_pair))
    assert _update_difference(in_job, on_host, start) < 2e-3


def test_a_failed_trainjob_fails_the_launcher_with_the_jobs_own_error(
    docker_client, images, container_inputs, tmp_path, monkeypatch
):
    from trashseg.components.train.logic import TrainParams
    from trashseg.components.train.trainjob import TrainJobFailed, TrainJobSettings, run_trainjob, trainer_client

    monkeypatch.setenv("HOME", str(tmp_path))
    _, inputs = container_inputs
    settings = TrainJobSettings(
        image=CPU_IMAGE, nodes=2, gpus=0, cpus_per_node=1, memory_per_node="2Gi", backend="container"
    )
    params = TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=64, batch_size=2)
    with pytest.raises(TrainJobFailed) as failure:  # the nodes cannot find the start weights: a failure inside the job
        run_trainjob(
            trainer_client("container", image=CPU_IMAGE),
            [inputs["dataset"]],
            inputs["split"],
            tmp_path / "model",
            params,
            settings,
            None,
            pretrained="/workspace/no-such-model",
        )
    message = str(failure.value)
    assert message.startswith("error:") and "no-such-model" in message.splitlines()[0]  # the trainer's own error first
    assert (
        "is Failed" in message and "node-0: status=exited, exit_code=1" in message
    )  # then the SDK's account of the job
    assert not (tmp_path / "model").exists()
    assert not docker_client.containers.list(all=True, filters={"label": "trainer.kubeflow.org/trainjob-name"})


def _serve_in_image(docker_client, image: str, artifact: Path, readable: Path):
    """`trashseg serve` in a container of ``image`` with a world-readable copy of ``artifact`` mounted read-only (the
    image's user is not root; KServe's storage initializer writes files that everyone may read), on a localhost port."""
    import requests

    artifact = Path(shutil.copytree(artifact, readable / artifact.name))
    for path in [artifact, *artifact.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    container = docker_client.containers.run(
        image,
        ["trashseg", "serve", "--model", "/models/served", "--host", "0.0.0.0", "--port", "8080"],
        volumes={str(artifact): {"bind": "/models/served", "mode": "ro"}},
        ports={"8080/tcp": ("127.0.0.1", None)},
        detach=True,
    )
    container.reload()
    url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['8080/tcp'][0]['HostPort']}"
    for _ in range(300):
        container.reload()
        if container.status == "exited":
            logs = container.logs().decode()[-3000:]
            container.remove(force=True)
            raise AssertionError(f"serve exited in the container:\n{logs}")
        try:
            if requests.get(url + "/v2/health/ready", timeout=2).status_code == 200:
                return container, url
        except requests.RequestException:
            pass
        time.sleep(0.5)
    container.remove(force=True)
    raise AssertionError("serve did not become ready in the container")


def test_serve_in_the_image_answers_infers_labels_and_stops_on_sigterm(
    docker_client, images, container_inputs, tmp_path
):
    """The CPU image serves a model and its ONNX export: real requests from the host get the labels infer wrote on the
    host; a bad request gets a 400; `docker stop` (SIGTERM) ends the server with exit code 0."""
    import base64

    import numpy as np
    import requests

    from trashseg.components.export.logic import ExportParams, run_export
    from trashseg.components.infer.logic import run_infer
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.predictions import validate_predictions

    root, inputs = container_inputs
    dataset = Dataset(inputs["dataset"])
    exported = root / "exported"
    if not exported.exists():
        run_export(inputs["model"], exported, params=ExportParams(check_images=2))
    run_infer(exported, inputs["dataset"], tmp_path / "by_export")
    references = {
        inputs["model"]: validate_predictions(inputs["pred"]),
        exported: validate_predictions(tmp_path / "by_export"),
    }
    for artifact, reference in references.items():
        started = time.perf_counter()
        container, url = _serve_in_image(docker_client, images, artifact, tmp_path)
        TIMINGS[f"serve_ready_{artifact.name}_s"] = time.perf_counter() - started
        try:
            for image_id in dataset.image_ids[:6]:
                body = {
                    "inputs": [
                        {
                            "name": "image",
                            "shape": [1],
                            "datatype": "BYTES",
                            "data": [base64.b64encode(dataset.image_bytes(image_id)).decode()],
                        }
                    ]
                }
                answer = requests.post(url + "/v2/models/trashseg/infer", json=body, timeout=120)
                assert answer.status_code == 200, answer.text
                (output,) = answer.json()["outputs"]
                labels = np.asarray(output["data"], np.uint8).reshape(output["shape"])
                np.testing.assert_array_equal(
                    labels, reference.labels(image_id), err_msg=f"{artifact.name}, image {image_id}"
                )
            bad = {
                "inputs": [
                    {
                        "name": "image",
                        "shape": [1],
                        "datatype": "BYTES",
                        "data": [base64.b64encode(b"not a photo").decode()],
                    }
                ]
            }
            answer = requests.post(url + "/v2/models/trashseg/infer", json=bad, timeout=30)
            assert answer.status_code == 400 and "not a JPEG or PNG image" in answer.json()["error"]
            assert requests.get(url + "/v2/models/trashseg/ready", timeout=5).json()["ready"] is True
            container.stop(timeout=60)
            assert container.wait(timeout=60)["StatusCode"] == 0
            assert "Shutting down" in container.logs().decode()
        finally:
            container.remove(force=True)
