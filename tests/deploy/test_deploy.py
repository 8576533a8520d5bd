"""deploy: the InferenceService object, checked against KServe's CRD schema and the kserve SDK's own models.

The CRD is KServe's (``config/crd/full/serving.kserve.io_inferenceservices.yaml`` of kserve/kserve), never committed
here: the test reads it from the directory named by TRASHSEG_CRD_DIR, else from ``<repo>/../shared/crds/``, and
skips the schema check, saying so, where it is absent. The round trip through the SDK's models runs everywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.reference import REPO
from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE
from trashseg.components.common.kserve_sdk import import_kserve
from trashseg.components.deploy.logic import as_dict, deploy, inference_service, storage_uri
from trashseg.components.deploy.params import DeployParams
from trashseg.data_contracts.errors import ContractError

CRD_FILE = "serving.kserve.io_inferenceservices.yaml"
MODEL_URI = "minio://mlpipeline/v2/artifacts/trashseg/3f2a/train-op/model"


def _crd_schema() -> dict:
    import yaml

    roots = (
        [Path(os.environ["TRASHSEG_CRD_DIR"])]
        if os.environ.get("TRASHSEG_CRD_DIR")
        else [REPO.parent / "shared" / "crds"]
    )
    found = [path for root in roots if root.is_dir() for path in sorted(root.rglob(CRD_FILE))]
    if not found:
        pytest.skip(
            f"KServe's InferenceService CRD ({CRD_FILE}) is not in {roots[0]} "
            "(set TRASHSEG_CRD_DIR to a folder holding "
            "kserve/kserve's config/crd/full/ copy)"
        )
    crd = yaml.safe_load(found[0].read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    return version["schema"]["openAPIV3Schema"]


def _unknown_fields(value, schema: dict, where: str = "") -> list[str]:
    """Fields the API server would prune silently: keys the structural schema does not list (a misspelt field)."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("additionalProperties") not in (
            None,
            False,
        ):
            extra = schema.get("additionalProperties")
            return [
                m
                for k, v in value.items()
                for m in (_unknown_fields(v, extra, f"{where}.{k}") if isinstance(extra, dict) else [])
            ]
        properties = schema.get("properties", {})
        found = [f"{where}.{k}" for k in value if k not in properties]
        return found + [
            m for k, v in value.items() if k in properties for m in _unknown_fields(v, properties[k], f"{where}.{k}")
        ]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [m for k, v in enumerate(value) for m in _unknown_fields(v, schema["items"], f"{where}[{k}]")]
    return []


@pytest.mark.parametrize(
    "params",
    [
        DeployParams(),
        DeployParams(
            service_name="trash-gpu",
            service_namespace="team-a",
            service_gpus=1,
            service_cpu="4",
            service_memory="16Gi",
            min_replicas=0,
            max_replicas=3,
            service_account="kfp-object-store",
            tta_flip=False,
            tta_scales=[0.75, 1.0],
        ),
    ],
    ids=["cpu", "gpu"],
)
def test_the_inference_service_fits_kserves_crd_schema(params):
    import jsonschema

    schema = _crd_schema()
    document = as_dict(inference_service(MODEL_URI, params))
    document["metadata"].setdefault("namespace", "default")
    jsonschema.Draft7Validator(schema).validate(document)
    assert _unknown_fields(document["spec"], schema["properties"]["spec"], "spec") == []
    assert set(document) == {"apiVersion", "kind", "metadata", "spec"}

    # the checks can fail: a wrong type, and a misspelt field the API server would drop
    broken = json.loads(json.dumps(document))
    broken["spec"]["predictor"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)
    broken = json.loads(json.dumps(document))
    broken["spec"]["predictor"]["minReplica"] = 1
    assert _unknown_fields(broken["spec"], schema["properties"]["spec"], "spec") == ["spec.predictor.minReplica"]


def _rebuild(data, kind: str):
    """The SDK's models from plain JSON, class by class from their own ``openapi_types``/``attribute_map``: every key
    must be a field of the class (kserve's or the kubernetes client's, whose required fields their constructors check).

    kserve's ``ApiClient.deserialize`` cannot do it: it looks nested Kubernetes classes (V1ObjectMeta, V1Container) up
    in kserve.models only.
    """
    import kubernetes.client

    kserve = import_kserve()
    if kind.startswith("list["):
        return [_rebuild(item, kind[5:-1]) for item in data]
    if kind.startswith("dict("):
        value_kind = kind[5:-1].split(", ", 1)[1]
        return {key: _rebuild(value, value_kind) for key, value in data.items()}
    if kind in ("str", "int", "float", "bool", "object", "date", "datetime"):
        return data
    cls = getattr(kserve.models, kind, None) or getattr(kubernetes.client.models, kind)
    unknown = set(data) - set(cls.attribute_map.values())
    assert not unknown, f"{kind} has no field {sorted(unknown)}"
    by_key = {key: attribute for attribute, key in cls.attribute_map.items()}
    return cls(**{by_key[key]: _rebuild(value, cls.openapi_types[by_key[key]]) for key, value in data.items()})


@pytest.mark.parametrize("gpus", [0, 1])
def test_the_inference_service_round_trips_through_the_sdks_models(gpus):
    """What CI always runs: the kserve SDK serialises the object, reads it back into its own classes, and the predictor
    is what KServe needs to fetch the model for a custom container and what `trashseg serve` needs to run."""
    kserve = import_kserve()
    isvc = inference_service(MODEL_URI, DeployParams(service_gpus=gpus))
    document = as_dict(isvc)
    back = _rebuild(json.loads(json.dumps(document)), "V1beta1InferenceService")
    assert isinstance(back, kserve.V1beta1InferenceService) and as_dict(back) == document
    broken = json.loads(json.dumps(document))
    broken["spec"]["predictor"]["containers"][0]["readinessProbe"]["httpGet"]["paths"] = "/"
    with pytest.raises(AssertionError, match="V1HTTPGetAction has no field \\['paths'\\]"):
        _rebuild(broken, "V1beta1InferenceService")
    del broken["spec"]["predictor"]["containers"][0]["readinessProbe"]["httpGet"]["paths"]
    del broken["spec"]["predictor"]["containers"][0]["readinessProbe"]["httpGet"]["port"]
    with pytest.raises(ValueError, match="port"):  # a required field, checked by the kubernetes client's constructor
        _rebuild(broken, "V1beta1InferenceService")
    assert document["apiVersion"] == "serving.kserve.io/v1beta1" and document["kind"] == "InferenceService"
    assert document["metadata"]["name"] == "trashseg"
    (container,) = document["spec"]["predictor"]["containers"]
    assert container["name"] == "kserve-container"  # the name KServe looks for STORAGE_URI under
    assert {"name": "STORAGE_URI", "value": "s3://mlpipeline/v2/artifacts/trashseg/3f2a/train-op/model"} in container[
        "env"
    ]
    assert container["image"] == (GPU_IMAGE if gpus else CPU_IMAGE)
    assert container["command"] == ["trashseg"] and container["args"][:5] == [
        "serve",
        "--model",
        "/mnt/models",
        "--host",
        "0.0.0.0",
    ]
    assert container["ports"] == [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/models/trashseg/ready", "port": 8080}
    assert ("nvidia.com/gpu" in container["resources"]["limits"]) == bool(gpus)

    # the arguments parse as `trashseg serve` arguments
    from trashseg.components.cli import build_parser

    args = build_parser().parse_args(container["command"][1:] + container["args"])
    assert (str(args.model), args.host, args.port) == ("/mnt/models", "0.0.0.0", 8080)


def test_storage_uris():
    assert storage_uri("minio://mlpipeline/v2/artifacts/x/model/") == "s3://mlpipeline/v2/artifacts/x/model"
    for kept in ("s3://bucket/models/m", "gs://bucket/m", "pvc://claim/models/m"):
        assert storage_uri(kept) == kept
    for refused in ("/tmp/local/model", "file:///tmp/model", "https://example.com/model.tar.gz", "minio://bucket-only"):
        with pytest.raises(ContractError, match="not an object-store URI KServe can fetch"):
            storage_uri(refused)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"service_name": "Trash_Seg"}, "is not an InferenceService name"),
        ({"service_name": "t" * 46}, "at most 45 characters"),
        ({"service_gpus": -1}, "--service-gpus: -1 is out of range"),
        ({"service_cpu": "two"}, "--service-cpu: 'two' is not a Kubernetes quantity"),
        ({"service_memory": "4GB"}, "--service-memory: '4GB' is not a Kubernetes quantity"),
        ({"min_replicas": 3, "max_replicas": 2}, "--max-replicas: 2 is out of range"),
        ({"tta_scales": [0.0]}, "--tta-scales: 0.0 is out of range"),
    ],
)
def test_bad_parameters_are_refused_by_name(change, expected):
    with pytest.raises(ContractError, match=expected):
        inference_service(MODEL_URI, DeployParams(**change))


def test_deploy_without_a_cluster_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ContractError, match="no Kubernetes configuration"):
        deploy(MODEL_URI, DeployParams(service_namespace="team-a"))


def test_the_component_compiles_into_a_pipeline_with_the_cpu_image(tmp_path):
    """What the other pipelines will wire: a thin component whose body calls deploy() with the model's URI."""
    import yaml
    from kfp import compiler, dsl

    from trashseg.components.deploy.component import deploy_op

    @dsl.pipeline(name="deploy-only")
    def pipeline():
        model = dsl.importer(artifact_uri=MODEL_URI, artifact_class=dsl.Model, reimport=False).output
        deploy_op(model=model, service_name="trashseg-test", service_gpus=0, wait_seconds=0)

    compiler.Compiler().compile(pipeline, str(tmp_path / "deploy.yaml"))
    spec = yaml.safe_load((tmp_path / "deploy.yaml").read_text())
    (executor,) = [e for name, e in spec["deploymentSpec"]["executors"].items() if "deploy" in name]
    assert executor["container"]["image"] == CPU_IMAGE
    assert "deploy(model.uri, params)" in executor["container"]["command"][-1]
    inputs = spec["components"]["comp-deploy-op"]["inputDefinitions"]
    assert set(inputs["artifacts"]) == {"model"} and {
        "service_name",
        "service_namespace",
        "service_gpus",
        "service_account",
    } <= set(inputs["parameters"])
