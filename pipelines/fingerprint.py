"""Content fingerprints of raw input folders, passed as pipeline parameters so ingest's cache key follows content.

An imported folder is recorded by its URI; the same URI with new content would
hit the cache, so the caller hashes the content and passes the hash along.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def fingerprint(folder: Path) -> str:
    """sha256 over every file under ``folder``: relative names and bytes, in sorted order."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()
