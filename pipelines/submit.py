"""Upload a compiled pipeline to a Kubeflow cluster and start a run, with ``kfp.Client``.

The token comes from ``KF_PIPELINES_TOKEN`` (or kfp's own credentials when
unset) and is never printed or logged.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from components.common.log import get_logger
from data_contracts.errors import ContractError
from pipelines.compile import COMPILED_DIR

log = get_logger("trashseg.pipeline")
TOKEN_ENV = "KF_PIPELINES_TOKEN"


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """['fold=2', 'preset=upernet-swin', 'fold_list=[0,1]'] -> typed values (JSON where it parses, else text)."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ContractError("--param", f"expected KEY=VALUE, got {item!r}", field="param")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def submit_pipeline(host: str, pipeline: str = "trashseg", params: dict[str, Any] | None = None, namespace: str | None = None,
                    experiment: str = "trashseg", run_name: str | None = None, package: Path | None = None) -> dict[str, str]:
    import kfp

    package = Path(package) if package else COMPILED_DIR / f"{pipeline}.yaml"
    if not package.is_file():
        raise ContractError(package, "compiled pipeline not found (run `trashseg pipeline compile`)")
    token = os.environ.get(TOKEN_ENV) or None
    client = kfp.Client(host=host, namespace=namespace, existing_token=token)
    version = time.strftime("%Y%m%d-%H%M%S")
    uploaded = client.upload_pipeline(str(package), pipeline_name=f"{pipeline}-{version}", description=f"trashseg {pipeline} pipeline")
    exp = client.create_experiment(name=experiment, namespace=namespace)
    versions = client.list_pipeline_versions(pipeline_id=uploaded.pipeline_id)
    version_id = versions.pipeline_versions[0].pipeline_version_id if versions.pipeline_versions else None
    run = client.run_pipeline(experiment_id=exp.experiment_id, job_name=run_name or f"{pipeline}-{version}", params=params or {},
                              pipeline_id=uploaded.pipeline_id, version_id=version_id)
    log.info("started run %s of %s (experiment %s) on %s", run.run_id, pipeline, experiment, host)
    return {"pipeline_id": uploaded.pipeline_id, "experiment_id": exp.experiment_id, "run_id": run.run_id}
