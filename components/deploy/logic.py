"""deploy: a KServe InferenceService that runs ``trashseg serve`` on a model artifact (or its ONNX export).

The predictor is a custom container: the project's image with ``trashseg serve --model /mnt/models --host 0.0.0.0``.
KServe fetches the artifact for it: a predictor container named ``kserve-container`` with a ``STORAGE_URI``
environment variable gets KServe's storage initializer as an init container, which downloads the URI into
``/mnt/models`` and rewrites the variable to that path (kserve ``pkg/apis/serving/v1beta1/predictor_custom.go``,
``pkg/webhook/admission/pod/storage_initializer_injector.go``). Its downloader (``kserve_storage``) knows ``s3://``,
``gs://``, ``hdfs://``, Azure and ``https://`` URIs, ``hf://`` and ``pvc://`` (the webhook mounts the claim instead).
KFP's default artifact store hands out ``minio://BUCKET/KEY`` URIs, which it does not know: they are the same objects
behind an S3 API, so they become ``s3://BUCKET/KEY``; the endpoint and keys come from a secret on the predictor's
service account (annotations ``serving.kserve.io/s3-endpoint``, ``serving.kserve.io/s3-usehttps``; keys
``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``; docs/serving.md shows one for KFP's object store).

``inference_service`` builds the object with the kserve SDK's own model classes; ``deploy`` creates it, or replaces
the one of the same name, with ``KServeClient``.
"""

from __future__ import annotations

from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE
from trashseg.components.common.kserve_sdk import GRACE_PERIOD_S, MODEL_NAME, PORT, import_kserve
from trashseg.components.common.log import get_logger
from trashseg.components.deploy.params import DeployParams
from trashseg.data_contracts.errors import ContractError

log = get_logger("trashseg.deploy")
API_VERSION = "serving.kserve.io/v1beta1"
CONTAINER_NAME = "kserve-container"  # the name KServe looks for (constants.InferenceServiceContainerName)
MODEL_MOUNT = "/mnt/models"  # where the storage initializer puts the artifact (constants.DefaultModelLocalMountPath)
STORAGE_SCHEMES = ("s3://", "gs://", "pvc://", "hdfs://", "webhdfs://")


def storage_uri(artifact_uri: str) -> str:
    """A model artifact's URI as KServe's storage initializer takes it: ``minio://`` becomes ``s3://``."""
    uri = str(artifact_uri).strip().rstrip("/")
    if uri.startswith("minio://"):
        uri = "s3://" + uri[len("minio://") :]
    if not uri.startswith(STORAGE_SCHEMES) or "/" not in uri.split("://", 1)[1]:
        raise ContractError(
            "model",
            f"{artifact_uri!r} is not an object-store URI KServe can fetch a folder from "
            f"(expected {', '.join(s + 'BUCKET/PATH' for s in ('minio://',) + STORAGE_SCHEMES[:2])} or "
            "pvc://CLAIM/PATH; a local path cannot be served on a cluster)",
            field="uri",
        )
    return uri


def inference_service(model_uri: str, params: DeployParams | None = None):
    """The InferenceService (kserve SDK ``V1beta1InferenceService``) serving the artifact at ``model_uri``."""
    params = params or DeployParams()
    params.check()
    uri = storage_uri(model_uri)
    kserve = import_kserve()
    from kubernetes import client as k8s

    image = params.service_image or (GPU_IMAGE if params.service_gpus else CPU_IMAGE)
    limits = {
        "cpu": params.service_cpu,
        "memory": params.service_memory,
        **({"nvidia.com/gpu": str(params.service_gpus)} if params.service_gpus else {}),
    }
    ready_path = f"/v2/models/{MODEL_NAME}/ready"
    container = k8s.V1Container(
        name=CONTAINER_NAME,
        image=image,
        command=["trashseg"],
        args=[
            "serve",
            "--model",
            MODEL_MOUNT,
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--tta-flip" if params.tta_flip else "--no-tta-flip",
            "--tta-scales",
            *(f"{float(scale):g}" for scale in params.tta_scales),
            "--grace-period",
            str(GRACE_PERIOD_S),
            "--device",
            "cuda" if params.service_gpus else "cpu",
        ],
        env=[
            k8s.V1EnvVar(name="STORAGE_URI", value=uri),  # KServe's cue to fetch the artifact into /mnt/models
            k8s.V1EnvVar(name="PROTOCOL", value="v2"),
        ],  # the Open Inference Protocol (constants.CustomSpecProtocolEnvVarKey)
        ports=[k8s.V1ContainerPort(container_port=PORT, name="http1", protocol="TCP")],
        resources=k8s.V1ResourceRequirements(requests=dict(limits), limits=limits),
        readiness_probe=k8s.V1Probe(
            http_get=k8s.V1HTTPGetAction(path=ready_path, port=PORT), period_seconds=5, failure_threshold=3
        ),
        security_context=k8s.V1SecurityContext(
            run_as_user=1000, run_as_non_root=True, allow_privilege_escalation=False
        ),  # the images' user
    )
    predictor = kserve.V1beta1PredictorSpec(
        containers=[container],
        min_replicas=params.min_replicas,
        max_replicas=params.max_replicas,
        service_account_name=params.service_account,
        termination_grace_period_seconds=GRACE_PERIOD_S + 15,
    )
    metadata = k8s.V1ObjectMeta(
        name=params.service_name,
        namespace=params.service_namespace,
        labels={"app.kubernetes.io/name": "trashseg", "app.kubernetes.io/component": "predictor"},
        annotations={"trashseg/model-uri": str(model_uri)},
    )
    return kserve.V1beta1InferenceService(
        api_version=API_VERSION,
        kind="InferenceService",
        metadata=metadata,
        spec=kserve.V1beta1InferenceServiceSpec(predictor=predictor),
    )


def as_dict(isvc) -> dict:
    """The object as the API server receives it (camelCase keys, no empty fields)."""
    kserve = import_kserve()
    return kserve.ApiClient().sanitize_for_serialization(isvc)


def current_namespace() -> str:
    """The pod's namespace in a cluster, else the kubeconfig context's, else 'default'."""
    kserve = import_kserve()
    if kserve.utils.is_running_in_k8s():
        return kserve.utils.get_current_k8s_namespace().strip()
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts()
        return active["context"].get("namespace") or "default"
    except Exception:  # noqa: BLE001 - no kubeconfig: KServeClient will say so
        return "default"


def deploy(model_uri: str, params: DeployParams | None = None, client=None) -> dict:
    """Create the InferenceService, or replace the one of the same name; then wait up to ``params.wait_seconds`` for it
    to be Ready.

    Returns the object as the API server answered (``status.url`` once Ready).
    """
    params = params or DeployParams()
    isvc = inference_service(model_uri, params)
    namespace = params.service_namespace or current_namespace()
    isvc.metadata.namespace = namespace
    kserve = import_kserve()
    from kubernetes.client.rest import ApiException

    if client is None:
        try:
            client = kserve.KServeClient()
        except Exception as err:  # noqa: BLE001 - kubeconfig or in-cluster configuration missing or broken
            raise ContractError("cluster", f"no Kubernetes configuration to reach a cluster ({err})") from None
    try:
        existing = client.api_instance.get_namespaced_custom_object(
            kserve.constants.KSERVE_GROUP,
            "v1beta1",
            namespace,
            kserve.constants.KSERVE_PLURAL_INFERENCESERVICE,
            params.service_name,
        )
    except ApiException as err:
        if err.status != 404:
            raise ContractError(
                "cluster",
                f"reading InferenceService {namespace}/{params.service_name} failed: {err.status} {err.reason}",
            ) from None
        existing = None
    try:
        if existing is None:
            answer = client.create(isvc, namespace=namespace)
            log.info(
                "created InferenceService %s/%s serving %s",
                namespace,
                params.service_name,
                isvc.spec.predictor.containers[0].env[0].value,
            )
        else:
            isvc.metadata.resource_version = existing["metadata"]["resourceVersion"]
            answer = client.replace(params.service_name, isvc, namespace=namespace)
            log.info(
                "replaced InferenceService %s/%s: now serving %s",
                namespace,
                params.service_name,
                isvc.spec.predictor.containers[0].env[0].value,
            )
    except RuntimeError as err:  # KServeClient wraps the API's refusal (403 without RBAC, 422 from the webhook)
        raise ContractError(
            "cluster", f"InferenceService {namespace}/{params.service_name}: {str(err).strip().splitlines()[-1][:300]}"
        ) from None
    if params.wait_seconds:
        client.wait_isvc_ready(
            params.service_name, namespace=namespace, timeout_seconds=params.wait_seconds, polling_interval=5
        )
        answer = client.get(params.service_name, namespace=namespace)
        log.info(
            "InferenceService %s/%s is ready at %s",
            namespace,
            params.service_name,
            (answer.get("status") or {}).get("url"),
        )
    return answer
