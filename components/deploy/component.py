"""kfp component: deploy (CPU image): create or update the KServe InferenceService serving a model artifact."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def deploy_op(
    model: dsl.Input[dsl.Model],
    name: str = "trashseg",
    namespace: str = "",
    gpus: int = 0,
    cpu: str = "2",
    memory: str = "4Gi",
    min_replicas: int = 1,
    max_replicas: int = 1,
    image: str = "",
    service_account: str = "",
    tta: str = "flip",
    wait_seconds: int = 600,
) -> str:
    """Serve the model (or its ONNX export) with `trashseg serve` in a KServe InferenceService; returns its URL.

    Args:
        model: Model or exported-model artifact; its URI (minio:// becomes s3://) is the InferenceService's storage URI.
        name: InferenceService name.
        namespace: Namespace ('' = the pipeline pod's own).
        gpus: NVIDIA GPUs for the predictor (0 = CPU; a GPU needs a model, not an export).
        cpu: CPU request and limit.
        memory: Memory request and limit.
        min_replicas: Fewest predictor pods.
        max_replicas: Most predictor pods.
        image: Container image ('' = the project's CPU image, or its GPU image when gpus > 0).
        service_account: Service account holding the object store's credentials ('' = the namespace's default).
        tta: Test-time augmentation of the server.
        wait_seconds: Wait this long for the InferenceService to become Ready (0 = do not wait).
    """
    from trashseg.components.deploy.logic import deploy
    from trashseg.components.deploy.params import DeployParams

    params = DeployParams(
        name=name,
        namespace=namespace or None,
        gpus=gpus,
        cpu=cpu,
        memory=memory,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        image=image or None,
        service_account=service_account or None,
        tta=tta,
    )
    answer = deploy(model.uri, params, wait_seconds=wait_seconds)
    return str(
        (answer.get("status") or {}).get("url") or f"{answer['metadata']['namespace']}/{answer['metadata']['name']}"
    )
