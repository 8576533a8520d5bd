"""The artifact formats that pass between trashseg stages.

Each contract is one small module: a directory artifact with payload files
(Parquet for tables, NPZ for dense arrays) and a ``manifest.json`` naming the
contract, its version, row counts, a content hash and the producing stage.
Every contract has ``write_*`` (validate, then write atomically) and
``read_*``/``validate_*`` (read back and check fully).
"""

from trashseg.data_contracts.classes import (
    CLASS_NAMES,
    IGNORE_INDEX,
    NUM_CLASSES,
    PALETTE,
    ClassTable,
)
from trashseg.data_contracts.errors import ContractError

__all__ = [
    "CLASS_NAMES",
    "IGNORE_INDEX",
    "NUM_CLASSES",
    "PALETTE",
    "ClassTable",
    "ContractError",
]
