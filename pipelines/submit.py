"""Upload a compiled pipeline to a Kubeflow cluster and start a run, with ``kfp.Client``.

The token comes from ``KF_PIPELINES_TOKEN`` (or kfp's own credentials when
unset) and is never printed or logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator

from trashseg.components.common.log import get_logger
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.pipelines.compile import COMPILED_DIR

log = get_logger("trashseg.pipeline")
TOKEN_ENV = "KF_PIPELINES_TOKEN"


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """['fold=2', 'preset=upernet-swin', 'fold_list=[0,1]'] -> typed values (JSON where it parses, else text)."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParameterError("--param", f"expected KEY=VALUE, got {item!r}")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def _hint(status: int, namespace: str | None) -> str:
    """What to check for each refusal: the real cause, never the token."""
    if status == 401:
        return (
            f"the token was refused: check {TOKEN_ENV} (for a profile: kubectl -n PROFILE create token default-editor)"
        )
    if status == 403:
        if namespace:
            return (
                f"this identity may not use the namespace {namespace}: ask the profile's owner to add you as a "
                "contributor, "
                "or check --namespace"
            )
        return (
            "writing a shared pipeline (no --namespace) needs rights in the KFP system namespace since KFP 2.16.1: "
            "pass "
            "--namespace with your profile"
        )
    if status == 404:
        return "not found: check --host (the pipelines API, e.g. https://HOST/pipeline)"
    return "see the Kubeflow Pipelines API server's log"


def _refusal(host: str, status: int, reason: str, namespace: str | None) -> ContractError:
    return ContractError(host, f"the Kubeflow Pipelines API answered {status} {reason}: {_hint(status, namespace)}")


def _version(text: str) -> tuple[int, ...] | None:
    numbers = re.findall(r"\d+", text.split("-")[0])
    return tuple(int(n) for n in numbers[:3]) if len(numbers) >= 2 else None


def _client(host: str, namespace: str | None, requirements: dict[str, str] | None = None):
    """A kfp.Client, after one quick health request of our own that also checks the server.

    kfp.Client's constructor retries its health check five times with back-off and
    then reports only "Failed getting healthz endpoint": a wrong token or host
    would cost a minute and say nothing. One request first names the problem; its
    answer says whether the install is multi-user (then a namespace is needed) and,
    where the server reports it, its version (compared with what the pipeline needs).
    """
    import urllib.error
    import urllib.request

    import kfp

    token = os.environ.get(TOKEN_ENV) or None
    request = urllib.request.Request(
        f"{host.rstrip('/')}/apis/v2beta1/healthz", headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            health = json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as err:
        raise _refusal(host, err.code, err.reason, namespace) from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise ContractError(host, f"cannot reach the Kubeflow Pipelines API ({getattr(err, 'reason', err)})") from None
    if health.get("multi_user") and not namespace:
        raise ParameterError(
            "--namespace", "this Kubeflow Pipelines install is multi-user: pass --namespace with your profile"
        )
    needed = (requirements or {}).get("KFP backend")
    running = _version(str(health.get("tag_name", "")))
    if needed and running and running < _version(needed):
        raise ContractError(
            host,
            f"the Kubeflow Pipelines backend is {health['tag_name']}; this pipeline needs {needed} or "
            "later (docs/cluster.md says why)",
        )
    return kfp.Client(host=host, namespace=namespace, existing_token=token)


@contextlib.contextmanager
def _api_errors(host: str, namespace: str | None) -> Iterator[None]:
    """The API's refusals as one line naming the status and what to check (never the token)."""
    import kfp_server_api

    try:
        yield
    except kfp_server_api.ApiException as err:
        raise _refusal(host, err.status, err.reason, namespace) from None
    except (OSError, ValueError) as err:  # connection refused, DNS, TLS; kfp's own ValueErrors (duplicate names)
        raise ContractError(host, f"cannot use the Kubeflow Pipelines API here ({type(err).__name__}: {err})") from None


def run_url(host: str, run_id: str) -> str:
    return f"{host.rstrip('/')}/#/runs/details/{run_id}"


def pipeline_id_in(client: Any, name: str, namespace: str | None) -> str | None:
    """The id of the pipeline ``name`` in ``namespace`` (shared ones without it); kfp's get_pipeline_id sees only
    shared ones."""
    found = client.list_pipelines(
        filter=json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]}),
        namespace=namespace,
    )
    pipelines = [p for p in (found.pipelines or []) if (getattr(p, "namespace", None) or None) == (namespace or None)]
    return pipelines[0].pipeline_id if pipelines else None


def submit_pipeline(
    host: str,
    pipeline: str = "trashseg",
    params: dict[str, Any] | None = None,
    namespace: str | None = None,
    experiment: str = "trashseg",
    run_name: str | None = None,
    package: Path | None = None,
    wait_seconds: float | None = None,
    requirements: dict[str, str] | None = None,
) -> dict[str, str]:
    """Upload ``pipeline`` into ``namespace`` (one pipeline of that name there; each later upload is a new version of
    it)
    and start a run in that namespace's experiment. With ``wait_seconds``, follow the run to its end."""
    package = Path(package) if package else COMPILED_DIR / f"{pipeline}.yaml"
    if not package.is_file():
        raise ContractError(package, "compiled pipeline not found (run `trashseg pipeline compile`)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with _api_errors(host, namespace):
        client = _client(host, namespace, requirements)
        pipeline_id = pipeline_id_in(client, pipeline, namespace)
        if pipeline_id is None:
            pipeline_id = client.upload_pipeline(
                str(package), pipeline_name=pipeline, description=f"trashseg {pipeline} pipeline", namespace=namespace
            ).pipeline_id
            versions = client.list_pipeline_versions(pipeline_id=pipeline_id).pipeline_versions or []
            version_id = versions[0].pipeline_version_id
        else:
            version_id = client.upload_pipeline_version(
                str(package), pipeline_version_name=f"{pipeline}-{stamp}", pipeline_id=pipeline_id
            ).pipeline_version_id
        exp = client.create_experiment(name=experiment, namespace=namespace)
        run = client.run_pipeline(
            experiment_id=exp.experiment_id,
            job_name=run_name or f"{pipeline}-{stamp}",
            params=params or {},
            pipeline_id=pipeline_id,
            version_id=version_id,
        )
        result = {
            "pipeline_id": pipeline_id,
            "version_id": version_id,
            "experiment_id": exp.experiment_id,
            "run_id": run.run_id,
            "url": run_url(host, run.run_id),
        }
        log.info(
            "started run %s of %s version %s (experiment %s): %s",
            run.run_id,
            pipeline,
            version_id,
            experiment,
            result["url"],
        )
        if wait_seconds:
            try:
                finished = client.wait_for_run_completion(
                    run.run_id, timeout=wait_seconds, sleep_duration=min(10, max(1, wait_seconds / 60))
                )
            except TimeoutError:
                raise ParameterError(
                    "--wait",
                    f"run {run.run_id} had not finished after {wait_seconds:g} s; follow it at {result['url']}",
                ) from None
            result["state"] = str(finished.state)
    return result


def list_runs(
    host: str, namespace: str | None = None, experiment: str | None = None, count: int = 10
) -> list[dict[str, str]]:
    """The most recent runs (of ``experiment`` when given), newest first, with their states and UI links."""
    with _api_errors(host, namespace):
        client = _client(host, namespace)
        experiment_id = (
            client.get_experiment(experiment_name=experiment, namespace=namespace).experiment_id if experiment else None
        )
        response = client.list_runs(
            experiment_id=experiment_id, namespace=namespace, page_size=count, sort_by="created_at desc"
        )
    return [
        {
            "run_id": r.run_id,
            "name": r.display_name,
            "state": str(r.state),
            "created_at": str(r.created_at),
            "url": run_url(host, r.run_id),
        }
        for r in (response.runs or [])
    ]
