"""One exception type for every bad-input case, so CLIs can print it and exit 2."""

from __future__ import annotations


class ContractError(ValueError):
    """Bad input or a broken artifact.

    The message always names the file, and where it applies the record
    (image id, annotation id, row) and the field, so a user can find and fix it.
    """

    def __init__(self, file: object, message: str, *, record: str | None = None, field: str | None = None):
        self.file = str(file)
        self.record = record
        self.field = field
        where = [self.file]
        if record is not None:
            where.append(record)
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {message}")
