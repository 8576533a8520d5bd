"""Deterministic, streaming NPZ files of named arrays (no pickle).

``numpy.savez`` stamps the current time into each zip entry, so the same arrays
give different bytes (and content hashes) on every run. This writer fixes the
timestamps and writes one array at a time, so a stage can stream thousands of
masks without holding them all in memory. Files read back with
``np.load(path, allow_pickle=False)``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from trashseg.data_contracts.errors import ContractError

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class NpzWriter:
    """Append arrays to an NPZ one by one; keys must be unique."""

    def __init__(self, path: Path, compress: bool = True):
        self.path = Path(path)
        self._zip = zipfile.ZipFile(self.path, "w", allowZip64=True)
        self._compress = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self._keys: set[str] = set()

    def add(self, key: str, array: np.ndarray) -> None:
        if key in self._keys:
            raise ValueError(f"duplicate key {key!r} in {self.path}")
        if array.dtype == object:
            raise ValueError("object arrays would need pickle; refusing")
        self._keys.add(key)
        info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_TIME)
        info.compress_type = self._compress
        info.external_attr = 0o644 << 16
        with self._zip.open(info, "w", force_zip64=True) as handle:
            np.lib.format.write_array(handle, np.ascontiguousarray(array), allow_pickle=False)

    def __len__(self) -> int:
        return len(self._keys)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NpzReader:
    """Lazy access to an NPZ's arrays by key, pickle disabled."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._npz = np.load(self.path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise ContractError(self.path, f"not a readable NPZ file ({err})") from err

    def keys(self) -> list[str]:
        return list(self._npz.files)

    def __contains__(self, key: str) -> bool:
        return key in self._npz.files

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._npz.files:
            raise ContractError(self.path, "no array with this key", record=f"key {key!r}")
        try:
            return self._npz[key]
        except ValueError as err:
            raise ContractError(self.path, f"array cannot be read safely ({err})", record=f"key {key!r}") from err

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for key in self._npz.files:
            yield key, self[key]

    def close(self) -> None:
        self._npz.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
