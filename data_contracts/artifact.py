"""What every directory artifact shares: the manifest, the content hash and atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from data_contracts.errors import ContractError

MANIFEST_NAME = "manifest.json"


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(file_hashes: dict[str, str]) -> str:
    """One hash over every payload file's name and hash: equal content, equal hash.

    kfp's cache keys input artifacts by path and metadata only, so components put
    this hash into the artifact metadata to make caching follow content.
    """
    digest = hashlib.sha256()
    for name in sorted(file_hashes):
        digest.update(f"{name}\0{file_hashes[name]}\n".encode())
    return digest.hexdigest()


@dataclass
class Manifest:
    """The self-description every artifact carries in ``manifest.json``."""

    contract: str
    version: int
    rows: dict[str, int]
    files: dict[str, str]
    producer: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return content_hash(self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "content_hash": self.content_hash,
            "rows": self.rows,
            "files": self.files,
            "producer": self.producer,
            **({"extra": self.extra} if self.extra else {}),
        }


class ArtifactView:
    """What every opened artifact offers: its manifest and the content hash that keys caching."""

    manifest: Manifest

    @property
    def content_hash(self) -> str:
        return self.manifest.content_hash


def write_manifest(directory: Path, manifest: Manifest) -> Manifest:
    """Hash the payload files now present and write the manifest (sorted keys: deterministic)."""
    manifest.files = {name: sha256_file(directory / name) for name in sorted(manifest.files)}
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(directory: Path, contract: str, supported_versions: tuple[int, ...], *, verify_hashes: bool = True) -> Manifest:
    """Read and check a manifest: right contract, known version, payload files intact."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not directory.is_dir():
        raise ContractError(directory, f"is not a {contract} artifact directory (it does not exist or is not a directory)")
    if not path.is_file():
        raise ContractError(path, f"missing: {directory} is not a {contract} artifact")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ContractError(path, f"unreadable manifest ({err})") from err
    for key in ("contract", "version", "rows", "files", "producer", "content_hash"):
        if key not in data:
            raise ContractError(path, "missing key", field=key)
    if data["contract"] != contract:
        raise ContractError(path, f"is a '{data['contract']}' artifact, expected '{contract}'", field="contract")
    if data["version"] not in supported_versions:
        raise ContractError(path, f"version {data['version']} is not supported (supported: {list(supported_versions)})", field="version")
    manifest = Manifest(
        contract=data["contract"], version=int(data["version"]), rows=dict(data["rows"]),
        files=dict(data["files"]), producer=dict(data["producer"]), extra=dict(data.get("extra", {})),
    )
    if manifest.content_hash != data["content_hash"]:
        raise ContractError(path, "content_hash does not match the listed file hashes", field="content_hash")
    for name, expected in manifest.files.items():
        payload = directory / name
        if not payload.is_file():
            raise ContractError(payload, "payload file listed in the manifest is missing")
        if verify_hashes and sha256_file(payload) != expected:
            raise ContractError(payload, "content differs from the sha256 in manifest.json (artifact modified or truncated)")
    return manifest


def prepare_output(out: Path, overwrite: bool) -> Path:
    """Check the destination before any work: never replace a user's data silently."""
    out = Path(out)
    if out.exists():
        if out.is_dir() and not any(out.iterdir()):
            return out
        if not overwrite:
            raise ContractError(out, "already exists and is not empty; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def atomic_directory(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; rename it to ``out`` only on success.

    A failure anywhere inside leaves nothing at ``out`` (and removes the temporary
    directory), so no stage ever reads a half-written artifact.
    """
    out = prepare_output(Path(out), overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; artifacts are shared like any output
        if out.exists():
            if out.is_dir():
                shutil.rmtree(out)
            else:
                out.unlink()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Like :func:`atomic_directory` for a single file (a submission CSV)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise ContractError(out, "already exists; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
