"""kfp component: deploy (CPU image): create or update the KServe InferenceService serving a model artifact."""

from typing import Optional

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def deploy_op(
    model: dsl.Input[dsl.Model],
    tta_flip: bool = True,
    tta_scales: list = [1.0],
    service_name: str = "trashseg",
    service_namespace: Optional[str] = None,
    service_gpus: int = 0,
    service_cpu: str = "2",
    service_memory: str = "4Gi",
    min_replicas: int = 1,
    max_replicas: int = 1,
    service_image: Optional[str] = None,
    service_account: Optional[str] = None,
    wait_seconds: int = 600,
) -> str:
    """Serve the model (or its ONNX export) with `trashseg serve` in a KServe InferenceService; returns its URL.

    The other parameters are DeployParams' fields (components/deploy/params.py): same names, defaults and help.

    Args:
        model: Model or exported-model artifact; its URI (minio:// becomes s3://) is the InferenceService's storage URI.
    """
    from trashseg.components.common.params import from_task
    from trashseg.components.deploy.logic import deploy
    from trashseg.components.deploy.params import DeployParams
    from trashseg.components.models.predict import check_tta
    from trashseg.data_contracts.exported import open_model_or_export

    params = from_task(DeployParams, locals())
    params.check()
    check_tta(open_model_or_export(model.path), params)  # here, not in a crash-looping predictor pod
    answer = deploy(model.uri, params)
    return str(
        (answer.get("status") or {}).get("url") or f"{answer['metadata']['namespace']}/{answer['metadata']['name']}"
    )
