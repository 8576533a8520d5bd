"""summary: one JSON naming where a run's results went (each artifact's URI and path) and its headline metrics.

Why a task: a pipeline's own outputs are joined in the compiled YAML with artifact selectors, which backends before
KFP 2.17.0 resolve wrongly when a graph has branches; a last task that reads the results gives the Kubeflow UI one
place to look, and ``trashseg pipeline run-local`` what it prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS_FILES = {"evaluation": "metrics.json"}  # folders whose headline metrics are a file inside them
JSON_RESULTS = ("comparison", "cv_metrics")  # results that are themselves JSON files


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """``results``: name -> kfp artifact (``.uri``, ``.path``). Returns the summary that ``write_summary`` writes."""
    summary: dict[str, Any] = {"outputs": {}, "uris": {}}
    for name, artifact in results.items():
        summary["outputs"][name], summary["uris"][name] = artifact.path, artifact.uri
        path = Path(artifact.path)
        if name == "submission" and (path / "submission.csv").is_file():  # the file users upload, inside the folder
            summary["outputs"][name], summary["uris"][name] = (
                str(path / "submission.csv"),
                f"{artifact.uri}/submission.csv",
            )
        if name in METRICS_FILES and (path / METRICS_FILES[name]).is_file():
            summary["metrics"] = json.loads((path / METRICS_FILES[name]).read_text())
        elif name in JSON_RESULTS and path.is_file():
            summary["metrics" if name == "cv_metrics" else name] = json.loads(path.read_text())
    return summary


def write_summary(path: str, results: dict[str, Any]) -> dict[str, Any]:
    summary = summarize(results)
    Path(path).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
