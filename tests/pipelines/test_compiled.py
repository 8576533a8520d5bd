"""The compiled YAML of every topology variant, read as a cluster reads it: tasks by their display names, images,
GPUs, mounts, retries, importers. What older KFP backends cannot run (an artifact dsl.OneOf, an accelerator count from
an integer parameter, a pod security context) must not come back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from trashseg.pipelines.compile import COMPILED_DIR, compile_all
from trashseg.pipelines.topology import CHECKPOINT_MOUNT, HUB_CACHE_MOUNT, Images, Topology

REPO = Path(__file__).resolve().parents[2]
DIGEST = "@sha256:" + "ab" * 32
VARIANTS = {
    "default": Topology(),
    "claim": Topology(checkpoint_claim="trashseg-checkpoints", train_gpus=4),
    "trainjob": Topology(
        checkpoint_claim="shared-rwx", train_nodes=2, train_gpus=8, pretrained_import=True, hub_cache_claim="hub-cache"
    ),
    "registry-digests": Topology(
        images=Images("registry.example.com/ml/trashseg-cpu" + DIGEST, "registry.example.com/ml/trashseg-gpu" + DIGEST)
    ),
    "registry-tags": Topology(
        images=Images("registry.example.com/ml/trashseg-cpu:1", "registry.example.com/ml/trashseg-gpu:1")
    ),
    "deploy": Topology(
        deploy=True,
        images=Images("registry.example.com/ml/trashseg-cpu" + DIGEST, "registry.example.com/ml/trashseg-gpu" + DIGEST),
    ),
}


class Compiled:
    """One compiled pipeline: its spec, its Kubernetes platform section, and its tasks by display name."""

    def __init__(self, path: Path):
        documents = list(yaml.safe_load_all(path.read_text()))
        self.text = path.read_text()
        self.spec = documents[0]
        self.platform = (
            documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"] if len(documents) > 1 else {}
        )
        tasks = dict(self.spec["root"]["dag"]["tasks"])
        for component in self.spec["components"].values():
            tasks.update(component.get("dag", {}).get("tasks", {}))
        self.tasks = {task["taskInfo"]["name"]: task for task in tasks.values()}
        self.display_names = {key: task["taskInfo"]["name"] for key, task in tasks.items()}

    def executor(self, display_name: str) -> tuple[dict, dict]:
        """(container executor, Kubernetes settings) of a task."""
        component = self.spec["components"][self.tasks[display_name]["componentRef"]["name"]]
        if "executorLabel" not in component:  # a sub-DAG (a condition, a loop) runs no container
            return {}, {}
        label = component["executorLabel"]
        return self.spec["deploymentSpec"]["executors"][label], self.platform.get(label, {})

    def named(self, prefix: str) -> list[str]:
        return sorted(name for name in self.tasks if name.startswith(prefix))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[tuple[str, str], Compiled]:
    out = {}
    for variant, topology in VARIANTS.items():
        for path in compile_all(tmp_path_factory.mktemp(variant), topology):
            out[(variant, path.stem)] = Compiled(path)
    return out


CASES = [(variant, name) for variant in VARIANTS for name in ("trashseg", "trashseg-cv")]


def test_the_checked_in_yaml_is_what_the_defaults_compile(tmp_path):
    for path in compile_all(tmp_path, Topology()):
        assert path.read_text() == (COMPILED_DIR / path.name).read_text(), (
            f"{path.name} is out of date: run `trashseg pipeline compile`"
        )


def test_no_pipeline_joins_branches_with_dsl_one_of():
    """An artifact OneOf resolves to its last branch on every backend before KFP 2.17.0 (kubeflow/pipelines#13436)."""
    for path in sorted((REPO / "pipelines").glob("*.py")):
        names = {node.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)}
        assert "OneOf" not in names, path


@pytest.mark.parametrize("variant, name", CASES)
def test_every_artifact_comes_from_exactly_one_producer(compiled, variant, name):
    """The only selectors left are those kfp writes for artifacts collected from a ParallelFor: one producer each."""
    pipeline = compiled[(variant, name)]
    selectors = [
        value["artifactSelectors"]
        for component in [pipeline.spec["root"], *pipeline.spec["components"].values()]
        for value in component.get("dag", {}).get("outputs", {}).get("artifacts", {}).values()
    ]
    assert all(len(entries) == 1 for entries in selectors)
    assert "artifactSelectors" not in pipeline.text if name == "trashseg" else len(selectors) == 2


@pytest.mark.parametrize("variant, name", CASES)
def test_images_and_gpus_of_every_task(compiled, variant, name):
    pipeline, topology = compiled[(variant, name)], VARIANTS[variant]
    for display_name in pipeline.tasks:
        executor, kubernetes = pipeline.executor(display_name)
        if "container" not in executor:  # an importer, or a sub-DAG
            continue
        container = executor["container"]
        assert "pip install" not in " ".join(container.get("command", []))  # no install at task start
        trains_here = display_name.startswith("train") and topology.train_nodes == 1
        on_gpu = trains_here or display_name.startswith("infer")
        assert container["image"] == (topology.images.gpu if on_gpu else topology.images.cpu), display_name
        assert kubernetes.get("imagePullPolicy") == ("Always" if variant == "registry-tags" else None), display_name
        resources = container.get("resources", {})
        if on_gpu:
            gpus = topology.train_gpus if trains_here else 1
            # a constant count: the backend reads a count from a parameter only when the parameter is text
            assert resources["accelerator"] == {
                "count": str(gpus),
                "resourceCount": str(gpus),
                "resourceType": "nvidia.com/gpu",
                "type": "nvidia.com/gpu",
            }, display_name
            assert kubernetes["emptyDirMounts"] == [
                {"medium": "Memory", "mountPath": "/dev/shm", "sizeLimit": "16Gi", "volumeName": "dshm"}
            ]
            assert kubernetes["nodeSelector"]["nodeSelectorJson"]["componentInputParameter"].endswith("node_selector")
            (toleration,) = kubernetes["tolerations"]
            assert toleration["tolerationJson"]["componentInputParameter"].endswith("tolerations")
        else:
            assert "accelerator" not in resources, display_name
        assert "securityContext" not in kubernetes  # needs KFP 2.16; the images run as a numeric non-root user instead


@pytest.mark.parametrize("variant, name", CASES)
def test_claims_only_on_the_train_tasks_that_were_compiled_with_them(compiled, variant, name):
    pipeline, topology = compiled[(variant, name)], VARIANTS[variant]
    mounted = {display_name for display_name in pipeline.tasks if "pvcMount" in pipeline.executor(display_name)[1]}
    trains = set(pipeline.named("train"))
    assert mounted == (trains if topology.checkpoint_claim or topology.hub_cache_claim else set())
    for display_name in trains:
        task, (executor, kubernetes) = pipeline.tasks[display_name], pipeline.executor(display_name)
        claims = {
            mount["mountPath"]: mount["pvcNameParameter"]["runtimeValue"]["constant"]
            for mount in kubernetes.get("pvcMount", [])
        }
        expected = {}
        if topology.checkpoint_claim:
            expected[CHECKPOINT_MOUNT] = topology.checkpoint_claim
        if topology.hub_cache_claim:
            expected[HUB_CACHE_MOUNT] = topology.hub_cache_claim
        assert claims == expected, display_name
        root = task["inputs"]["parameters"]["checkpoint_root"]["runtimeValue"]["constant"]
        assert root == (CHECKPOINT_MOUNT if topology.checkpoint_claim else "")
        env = {e["name"]: e["value"] for e in executor["container"].get("env", [])}
        assert env == ({"HF_HUB_CACHE": HUB_CACHE_MOUNT, "HF_HUB_OFFLINE": "1"} if topology.hub_cache_claim else {})
        # retries: 3, an integer back-off factor (the backend parses it as one), a week before Argo gives up
        assert task["retryPolicy"] == {
            "backoffDuration": "60s",
            "backoffFactor": 2.0,
            "backoffMaxDuration": "604800s",
            "maxRetryCount": 3,
        }


@pytest.mark.parametrize("variant, name", CASES)
def test_trainjob_launchers_are_compiled_in_only_for_several_nodes(compiled, variant, name):
    pipeline, topology = compiled[(variant, name)], VARIANTS[variant]
    for display_name in pipeline.named("train"):
        arguments = pipeline.tasks[display_name]["inputs"]["parameters"]
        if topology.train_nodes > 1:
            assert display_name.endswith("(TrainJob)")
            assert arguments["nodes"]["runtimeValue"]["constant"] == topology.train_nodes
            settings = arguments["trainjob"]["runtimeValue"]["constant"]
            assert settings["image"] == topology.images.gpu and settings["claim"] == topology.checkpoint_claim
            assert settings.get("hub_cache_claim", "") == topology.hub_cache_claim
            assert arguments["node_selector"]["componentInputParameter"].endswith("node_selector")
        else:
            assert "nodes" not in arguments and "trainjob" not in arguments
        assert arguments["gpus"]["runtimeValue"]["constant"] == topology.train_gpus


@pytest.mark.parametrize("variant, name", CASES)
def test_a_pretrained_model_is_imported_only_when_compiled_in(compiled, variant, name):
    pipeline, topology = compiled[(variant, name)], VARIANTS[variant]
    parameters = pipeline.spec["root"]["inputDefinitions"]["parameters"]
    importers = pipeline.named("import ")
    if topology.pretrained_import:
        assert "pretrained_model" in parameters and "defaultValue" not in parameters["pretrained_model"]
        assert "import pretrained model" in importers
        for display_name in pipeline.named("train"):
            source = pipeline.tasks[display_name]["inputs"]["artifacts"]["pretrained_model"]
            producer = source.get("taskOutputArtifact", {}).get("producerTask") or source["componentInputArtifact"]
            assert "importer" in producer
    else:
        assert "pretrained_model" not in parameters and importers == ["import test data", "import train data"]
        assert all(
            "pretrained_model" not in pipeline.tasks[t].get("inputs", {}).get("artifacts", {})
            for t in pipeline.named("train")
        )


@pytest.mark.parametrize("variant, name", CASES)
def test_the_final_model_is_exported_and_served_only_when_compiled_in(compiled, variant, name):
    pipeline, topology = compiled[(variant, name)], VARIANTS[variant]
    parameters = pipeline.spec["root"]["inputDefinitions"]["parameters"]
    if not (topology.deploy and name == "trashseg"):
        assert not pipeline.named("export") and not pipeline.named("deploy")
        assert not any(p.startswith("service_") for p in parameters) and "check_images" not in parameters
        return

    def producer(display_name: str, artifact: str) -> str:
        source = pipeline.tasks[display_name]["inputs"]["artifacts"][artifact]["taskOutputArtifact"]
        return pipeline.display_names[source["producerTask"]]

    assert producer("export final model", "model") == "train round 2"
    assert producer("deploy final model", "model") == "export final model"
    arguments = pipeline.tasks["deploy final model"]["inputs"]["parameters"]
    constants = {k: v["runtimeValue"]["constant"] for k, v in arguments.items() if "runtimeValue" in v}
    # the export runs on ONNX Runtime's CPU provider at its own size, in the image this pipeline names
    assert constants == {"service_image": topology.images.cpu, "service_gpus": 0, "tta_scales": [1.0]}
    assert arguments["tta_flip"]["componentInputParameter"] == "tta_flip"  # one flip for infer and the server
    assert pipeline.tasks["infer round 2: validation fold and test set"]["inputs"]["parameters"]["tta_flip"] == {
        "componentInputParameter": "tta_flip"
    }
    assert (
        parameters["service_name"]["defaultValue"] == "trashseg" and "defaultValue" not in parameters["service_account"]
    )


def test_the_lowest_versions_each_variant_needs():
    assert VARIANTS["deploy"].requirements("trashseg") == {"KFP backend": "2.5.0", "KServe": "0.20.0"}
    assert VARIANTS["deploy"].requirements("trashseg-cv") == {"KFP backend": "2.14.0"}
    assert VARIANTS["default"].requirements("trashseg") == {"KFP backend": "2.5.0"}
    assert VARIANTS["default"].requirements("trashseg-cv") == {"KFP backend": "2.14.0"}
    assert VARIANTS["trainjob"].requirements("trashseg") == {"KFP backend": "2.5.0", "Kubeflow Trainer": "2.2.0"}


def test_topologies_that_cannot_run_are_refused_before_compiling(tmp_path, capsys):
    from trashseg.components.cli import main

    assert main(["pipeline", "compile", "--train-nodes", "2", "--out-dir", str(tmp_path / "a")]) == 2
    assert "--train-nodes: 2 nodes share their inputs and checkpoints on a claim" in capsys.readouterr().err
    assert main(["pipeline", "compile", "--checkpoint-claim", "Not_A_Name", "--out-dir", str(tmp_path / "b")]) == 2
    assert "--checkpoint-claim: 'Not_A_Name' is not a Kubernetes object name" in capsys.readouterr().err
    assert (
        main(["pipeline", "compile", "--registry", "localhost:5000/nothing-pushed", "--out-dir", str(tmp_path / "c")])
        == 2
    )
    assert "no digests of pushed images for localhost:5000/nothing-pushed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
