"""Content fingerprints of raw inputs, passed as pipeline parameters so ingest's cache key follows content."""

from __future__ import annotations

import hashlib
from pathlib import Path


def fingerprint(coco_file: Path, images_dir: Path) -> str:
    """sha256 over the COCO file and every file under the images directory (names and bytes)."""
    digest = hashlib.sha256()
    digest.update(Path(coco_file).read_bytes())
    for path in sorted(p for p in Path(images_dir).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(images_dir)).encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
