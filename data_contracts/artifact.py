"""What every directory artifact shares: the manifest, the content hash and atomic writes."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from trashseg.data_contracts.errors import ContractError

MANIFEST_NAME = "manifest.json"


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def folder_digest(folder: Path) -> str:
    """sha256 over every file under ``folder``: relative names and contents, in sorted order (timestamps do not
    count)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def check_payload_name(manifest_path: Path, name: str) -> None:
    """Payload files are plain names inside the artifact: no separators, no '..', nothing hidden.

    A manifest listing ``../../etc/hostname`` would otherwise make a reader hash and
    trust a file outside the artifact.
    """
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ContractError(
            manifest_path, f"payload file name {name!r} is not a plain file name inside the artifact", field="files"
        )


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


def read_manifest(
    directory: Path, contract: str, supported_versions: tuple[int, ...], *, verify_hashes: bool = True
) -> Manifest:
    """Read and check a manifest: right contract, known version, payload files intact."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not directory.is_dir():
        raise ContractError(
            directory, f"is not a {contract} artifact directory (it does not exist or is not a directory)"
        )
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
        raise ContractError(
            path, f"version {data['version']} is not supported (supported: {list(supported_versions)})", field="version"
        )
    manifest = Manifest(
        contract=data["contract"],
        version=int(data["version"]),
        rows=dict(data["rows"]),
        files=dict(data["files"]),
        producer=dict(data["producer"]),
        extra=dict(data.get("extra", {})),
    )
    if manifest.content_hash != data["content_hash"]:
        raise ContractError(path, "content_hash does not match the listed file hashes", field="content_hash")
    for name, expected in manifest.files.items():
        check_payload_name(path, name)
        payload = directory / name
        if payload.is_symlink():
            raise ContractError(
                payload, "is a symbolic link: artifact payloads must be files inside the artifact", field="files"
            )
        if not payload.is_file():
            raise ContractError(payload, "payload file listed in the manifest is missing")
        try:
            actual = sha256_file(payload) if verify_hashes else expected
        except OSError as err:
            raise ContractError(payload, f"cannot be read ({err.strerror or err})") from None
        if actual != expected:
            raise ContractError(
                payload, "content differs from the sha256 in manifest.json (artifact modified or truncated)"
            )
    return manifest


def _overlaps(out: Path, other: Path) -> bool:
    out, other = out.resolve(), other.resolve()
    return out == other or other in out.parents or out in other.parents


def check_not_an_input(out: Path, inputs: Iterable[Path]) -> None:
    """An output equal to, inside, or containing an input would destroy it: refused, --overwrite or not."""
    for given in inputs:
        if given is not None and _overlaps(Path(out), Path(given)):
            raise ContractError(
                out,
                f"overlaps the input {given}: an output may not be, contain or sit inside an input "
                "(choose another --out)",
                field="out",
            )


def _previous_artifact_contract(out: Path) -> str | None:
    try:
        return json.loads((out / MANIFEST_NAME).read_text()).get("contract")
    except (OSError, ValueError, AttributeError):
        return None


TEMP_MARK = ".tmp-"


def temp_prefix(out: Path) -> str:
    """Temporaries beside ``out`` carry the host and PID that made them, so a later run can tell stale ones."""
    return f".{out.name}{TEMP_MARK}{socket.gethostname()}-{os.getpid()}-"


def remove_stale_temporaries(out: Path, max_age_s: float = 24 * 3600) -> list[Path]:
    """Delete temporaries of ``out`` left by killed runs: this host's whose process is gone, any host's older than a
    day."""
    removed = []
    host = socket.gethostname()
    for candidate in out.parent.glob(f".{glob.escape(out.name)}{TEMP_MARK}*"):
        rest = candidate.name[len(f".{out.name}{TEMP_MARK}") :]
        made_by, _, pid_text = rest.rpartition("-")[0].rpartition("-")
        try:
            stale = time.time() - candidate.lstat().st_mtime > max_age_s
            if made_by == host and pid_text.isdigit() and not stale:
                stale = not _alive(int(pid_text))
        except OSError:
            continue
        if stale:
            shutil.rmtree(candidate, ignore_errors=True) if candidate.is_dir() else candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_writable(directory: Path) -> None:
    """Prove a file can be made in ``directory`` (or its nearest existing ancestor, which is not changed).

    A read-only location then fails before the work, not after a training epoch.
    """
    existing = Path(directory).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ContractError(directory, f"cannot be created: {existing} is a file, not a directory", field="out")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ContractError(directory, f"cannot write the output here ({err.strerror or err})", field="out") from None


def prepare_output(out: Path, overwrite: bool, contract: str | None = None, inputs: Iterable[Path] = ()) -> Path:
    """Check the destination before any work: never an input, never a user's data, writable, no stale temporaries.

    ``--overwrite`` replaces only a previous artifact of the same ``contract``
    (its manifest says so); any other existing, non-empty path is refused.
    """
    out = Path(out)
    check_not_an_input(out, inputs)
    if out.exists() or out.is_symlink():
        if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
            check_writable(out.parent)
            return out
        if not overwrite:
            raise ContractError(out, "already exists and is not empty; pass --overwrite to replace it")
        if contract is not None and (
            out.is_symlink() or not out.is_dir() or _previous_artifact_contract(out) != contract
        ):
            raise ContractError(
                out,
                f"is not a previous '{contract}' artifact: --overwrite replaces only those (choose another --out)",
                field="out",
            )
    check_writable(out.parent)
    if out.parent.is_dir():
        remove_stale_temporaries(out)
    return out


@contextlib.contextmanager
def atomic_directory(
    out: Path, overwrite: bool = False, contract: str | None = None, inputs: Iterable[Path] = ()
) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; rename it to ``out`` only on success.

    A failure anywhere inside (an interrupt included) leaves nothing at ``out`` and
    removes the temporary directory, so no stage ever reads a half-written artifact.
    """
    out = prepare_output(Path(out), overwrite, contract, inputs)
    created = _make_parents(out.parent)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out), dir=out.parent))
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
        _remove_if_empty(created)
        raise


@contextlib.contextmanager
def atomic_file(
    out: Path, overwrite: bool = False, inputs: Iterable[Path] = (), looks_like: bytes | None = None
) -> Iterator[Path]:
    """Like :func:`atomic_directory` for a single file (a submission CSV).

    With ``--overwrite`` an existing file is replaced only if it starts with
    ``looks_like`` (a previous output of the same kind), never a directory.
    """
    out = Path(out)
    check_not_an_input(out, inputs)
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise ContractError(out, "already exists; pass --overwrite to replace it")
        if out.is_dir() or out.is_symlink() or (looks_like is not None and not _starts_with(out, looks_like)):
            raise ContractError(
                out,
                "is not a previous output of this kind: --overwrite replaces only those (choose another --out)",
                field="out",
            )
    check_writable(out.parent)
    created = _make_parents(out.parent)
    remove_stale_temporaries(out)
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(out), dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        _remove_if_empty(created)
        raise


def _starts_with(path: Path, prefix: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(prefix)) == prefix
    except OSError:
        return False


def _make_parents(directory: Path) -> list[Path]:
    """mkdir -p, returning the directories it made (deepest last), so a failed write can take them back."""
    missing = []
    current = Path(directory)
    while not current.exists():
        missing.append(current)
        current = current.parent
    directory.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _remove_if_empty(created: list[Path]) -> None:
    for directory in reversed(created):
        try:
            directory.rmdir()
        except OSError:
            return
