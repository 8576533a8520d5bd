"""The commands and manifests the README and docs/ give are ones that work: every `trashseg` command parses (and every
`pipeline compile` compiles), every `make` target exists, every other shell line is valid shell, every manifest is a
Kubernetes object the API's own model classes accept."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _blocks(path: Path) -> list[list[str]]:
    return [block.splitlines() for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)]


def _commands(path: Path) -> tuple[list[str], list[str]]:
    """(shell lines, YAML documents given on standard input with a heredoc)."""
    lines, manifests = [], []
    for block in _blocks(path):
        k = 0
        while k < len(block):
            line = re.sub(r"\s+#\s.*$", "", block[k]).strip()
            if "<<'YAML'" in line:
                end = block.index("YAML", k + 1)
                manifests.append("\n".join(block[k + 1 : end]))
                lines.append(line.replace("<<'YAML'", "< manifest.yaml"))
                k = end + 1
                continue
            if line:
                lines.append(line)
            k += 1
    return lines, manifests


CASES = [(path.name, line) for path in DOCUMENTS for line in _commands(path)[0]]


@pytest.mark.parametrize("document, line", CASES, ids=[f"{d}:{n}" for n, (d, _) in enumerate(CASES)])
def test_each_command_in_the_docs_works(document, line, tmp_path, monkeypatch):
    from trashseg.components.cli import build_parser, main

    words = shlex.split(line)
    if words[0] == "trashseg":
        if words[1:3] == ["pipeline", "compile"]:  # compiled for real; a registry's digests come from a push record
            pushed = tmp_path / "pushed-images.json"
            digest = "@sha256:" + "0" * 64
            pushed.write_text(
                json.dumps(
                    {
                        "registry.example.com/ml": {
                            "cpu": "registry.example.com/ml/trashseg-cpu" + digest,
                            "gpu": "registry.example.com/ml/trashseg-gpu" + digest,
                        }
                    }
                )
            )
            monkeypatch.setattr("trashseg.pipelines.compile.PUSHED_FILE", pushed)
            assert main([*words[1:], "--out-dir", str(tmp_path / "compiled")]) == 0
            assert sorted(p.name for p in (tmp_path / "compiled").iterdir()) == ["trashseg-cv.yaml", "trashseg.yaml"]
        else:
            build_parser().parse_args(words[1:])  # exits (fails the test) on any option it does not know
    elif words[0] == "make":
        targets = re.findall(r"^([a-z-]+):", (REPO / "Makefile").read_text(), flags=re.M)
        assert words[1] in targets, line
    else:
        checked = subprocess.run(["bash", "-n", "-c", line], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


MANIFESTS = [(path.name, doc) for path in DOCUMENTS for doc in _commands(path)[1]]


@pytest.mark.parametrize("document, manifest", MANIFESTS, ids=[f"{d}:{n}" for n, (d, _) in enumerate(MANIFESTS)])
def test_each_manifest_in_the_docs_is_a_kubernetes_object(document, manifest):
    from kubernetes.client import ApiClient

    body = yaml.safe_load(manifest)
    kind = {"v1/PersistentVolumeClaim": "V1PersistentVolumeClaim", "batch/v1/Job": "V1Job"}[
        f"{body['apiVersion']}/{body['kind']}"
    ]
    obj = ApiClient()._ApiClient__deserialize(body, kind)  # the client's models refuse missing required fields
    assert ApiClient().sanitize_for_serialization(obj) == body  # and know every field given: nothing would be pruned
    if body["kind"] == "PersistentVolumeClaim":  # a claim several pods share needs a class that offers ReadWriteMany
        assert obj.spec.access_modes == ["ReadWriteMany"] and obj.spec.storage_class_name
    if body["kind"] == "Job":
        pod = obj.spec.template
        assert pod.metadata.labels["sidecar.istio.io/inject"] == "false" and pod.spec.restart_policy == "Never"


def test_the_readme_is_short_and_links_every_document():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for path in sorted((REPO / "docs").glob("*.md")):
        assert f"docs/{path.name}" in readme, path.name
