"""Where a model's weights start: a Hugging Face Hub id, a local ``save_pretrained`` folder, or nothing (from scratch).

Why: the report's scores come from pretrained weights; training a real-size
preset from random weights at fine-tuning learning rates wastes GPU hours. Hub
ids resolve through the standard Hugging Face cache (``HF_HOME``), so a cluster
with internet downloads once and an offline one uses a pre-filled cache; the
model card records exactly what was used (id and revision, or the folder's hash).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from trashseg.data_contracts.errors import ContractError, ParameterError

# config.model_type of checkpoints that are a backbone (classification models), not a segmentation model.
BACKBONE_MODEL_TYPES = {"convnext", "convnextv2", "swin", "swinv2", "dinov2", "resnet"}
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
WEIGHT_PATTERNS = ["config.json", "*.safetensors", "*.safetensors.index.json"]


@dataclass(frozen=True)
class Start:
    """What training starts from; ``directory`` is where the files are on this machine (not recorded)."""

    kind: str  # "scratch", "hub" or "folder"
    source: str | None = None  # hub id or folder path
    revision: str | None = None  # hub commit, or sha256 over the folder's config and weights
    weights: str = "whole"  # "whole": a whole segmentation model; "backbone": the backbone under a fresh head
    directory: Path | None = None

    def record(self) -> dict:
        """What the model card keeps (no machine-specific path for hub ids)."""
        return {k: v for k, v in asdict(self).items() if k != "directory"}


def _folder_revision(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.name == "config.json" or path.suffix == ".safetensors":
            with open(path, "rb") as handle:
                digest.update(path.name.encode() + b"\0" + hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def hub_cache() -> str | None:
    """The cache folder as the environment says now (huggingface_hub reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    return os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None


def _from_hub(hub_id: str) -> Path:
    """The cached (or freshly downloaded) snapshot of ``hub_id``; one clear error when neither is possible."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(hub_id, allow_patterns=WEIGHT_PATTERNS, cache_dir=hub_cache()))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as err:
        cache = hub_cache() or os.path.expanduser("~/.cache/huggingface/hub")
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
        raise ParameterError(
            "--pretrained",
            f"{hub_id!r} is not in the Hugging Face cache ({cache}) and "
            f"{'HF_HUB_OFFLINE is set' if offline else 'the hub could not be reached'} "
            f"({type(err).__name__}); pre-fill the cache where the hub is reachable with "
            f"`hf download {hub_id}` and copy its hub/ folder to HF_HOME here, or pass a local "
            "save_pretrained folder",
        ) from None


def resolve_start(
    pretrained: str | Path | None, default_checkpoint: str | None, default_weights: str, from_scratch: bool
) -> Start:
    """Decide the start: an explicit ``pretrained`` (hub id or folder), else the preset's checkpoint, else scratch."""
    if from_scratch:
        if pretrained:
            raise ParameterError("--from-scratch", f"excludes --pretrained {pretrained}: choose one")
        return Start("scratch")
    spec = str(pretrained) if pretrained else default_checkpoint
    if not spec:
        return Start("scratch")
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ContractError(
                path,
                "no pretrained checkpoint here (expected config.json and weights written by save_pretrained)",
                field="pretrained",
            )
        return Start(
            "folder",
            str(path.resolve()),
            _folder_revision(path),
            _weights_kind(path) if pretrained else default_weights,
            path,
        )
    if not HUB_ID.match(spec):
        raise ParameterError(
            "--pretrained", f"{spec!r} is neither an existing folder nor a Hugging Face Hub id (ORG/NAME)"
        )
    directory = _from_hub(spec)
    return Start("hub", spec, directory.name, _weights_kind(directory) if pretrained else default_weights, directory)


def _weights_kind(directory: Path) -> str:
    """A user's checkpoint is a backbone when its config says it is one of the backbone model types."""
    import json

    try:
        model_type = json.loads((directory / "config.json").read_text()).get("model_type")
    except (OSError, ValueError) as err:
        raise ContractError(directory / "config.json", f"unreadable ({err})", field="model_type") from None
    return "backbone" if model_type in BACKBONE_MODEL_TYPES else "whole"
