"""What several stages read of a COCO file or a data folder: the JSON, the images' file names, paths inside a folder.

Why here: ingest reads whole COCO files, but split (a validation file given by the user) and the pipelines' data
folders need the same rules for a file name and for a path inside an imported folder, and a stage may not import
another stage.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from trashseg.data_contracts.errors import ContractError


def load_json(path: Path) -> dict:
    """The JSON object in ``path``; unreadable, not JSON or not an object is one clear error."""
    try:
        text = Path(path).read_bytes()
    except OSError as err:
        raise ContractError(path, f"cannot read annotation file ({err.strerror or err})") from err
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ContractError(path, f"not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ContractError(path, f"top level must be a JSON object, got {type(data).__name__}")
    return data


def normalise_file_name(name: str) -> str:
    """``./batch_01_vt/0001.jpg`` -> ``batch_01_vt/0001.jpg``: the one spelling stages compare and CSVs carry.

    Only ``.`` parts go; ``..`` stays, so that reading the file refuses it (a name may not leave the images root).
    """
    parts = [part for part in PurePosixPath(name.replace("\\", "/")).parts if part != "."]
    return "/".join(parts) if parts else name


def image_file_names(path: Path) -> list[str]:
    """The normalised ``file_name`` of every image of a COCO file, in its order (a validation file's images)."""
    data = load_json(path)
    images = data.get("images")
    if not isinstance(images, list):
        raise ContractError(path, "missing or not a list", field="images")
    names = []
    for index, record in enumerate(images):
        name = record.get("file_name") if isinstance(record, dict) else None
        if not isinstance(name, str) or not name:
            raise ContractError(path, "missing or not a file name", record=f"images[{index}]", field="file_name")
        names.append(normalise_file_name(name))
    return names


def inside_folder(root: Path, name: str, parameter: str) -> Path:
    """``root / name`` for a relative ``name`` that stays inside ``root`` (a parameter naming a file of a folder)."""
    relative = Path(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise ContractError(
            root, f"{parameter}={name!r} must be a relative path inside the data folder", field=parameter
        )
    return Path(root) / relative
