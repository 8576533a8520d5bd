"""Glue between kfp artifacts and the contracts: content hashes in metadata, HTML reports.

kfp's cache keys input artifacts by path and metadata, not content; putting
each contract's content hash into the metadata makes a downstream cache key
change exactly when the content does.
"""

from __future__ import annotations

from typing import Any

from trashseg.data_contracts.artifact import Manifest


def publish(artifact: Any, manifest: Manifest) -> None:
    artifact.metadata["contract"] = manifest.contract
    artifact.metadata["contract_version"] = manifest.version
    artifact.metadata["content_hash"] = manifest.content_hash
    for key, value in manifest.rows.items():
        artifact.metadata[f"rows_{key}"] = value


def write_html(artifact: Any, html: str) -> None:
    with open(artifact.path, "w") as handle:
        handle.write(html)


def log_metrics(artifact: Any, values: dict[str, float]) -> None:
    """Log scalars for the Kubeflow UI and also write them to the artifact's file.

    kfp keeps logged metrics only in metadata; without a file at the artifact's
    path the local cache sees the output as missing and reruns the task.
    """
    import json

    for key, value in values.items():
        artifact.log_metric(key, value)
    with open(artifact.path, "w") as handle:
        json.dump(values, handle, indent=1, sort_keys=True)


def log_confusion(artifact: Any, names: list[str], matrix: list[list[int]]) -> None:
    import json

    artifact.log_confusion_matrix(names, matrix)
    with open(artifact.path, "w") as handle:
        json.dump({"categories": names, "matrix": matrix}, handle)
