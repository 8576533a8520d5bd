"""Parquet helpers: explicit schemas, deterministic bytes, clear errors on mismatch."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from trashseg.data_contracts.errors import ContractError


def write_table(path: Path, table: pa.Table, schema: pa.Schema, row_group_size: int | None = None) -> None:
    """Write ``table`` cast to ``schema`` (so column types never drift between runs)."""
    table = table.select(schema.names).cast(schema)
    pq.write_table(table, path, row_group_size=row_group_size, compression="zstd", store_schema=False)


def read_table(path: Path, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet table and check it has the contract's columns and types."""
    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise ContractError(path, f"not a readable Parquet file ({err})") from err
    actual = parquet.schema_arrow
    for expected in schema:
        if expected.name not in actual.names:
            raise ContractError(path, "column missing", field=expected.name)
        found = actual.field(expected.name).type
        if not found.equals(expected.type):
            raise ContractError(path, f"has type {found}, expected {expected.type}", field=expected.name)
    return parquet.read(columns=columns or schema.names)
