"""The two kinds of bad input, one line each: a file (or artifact) that is wrong, and a parameter out of its range.

CLIs print either and exit 2 (components.common.cli.run_cli).
"""

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


class ParameterError(ContractError):
    """A parameter (a CLI option, a component or pipeline parameter) with a value it may not take.

    The message names the parameter as its option (``--lr-head``), with the value and what is allowed. A kind of
    ContractError so that every bad input is caught, printed and answered with exit code 2 the same way.
    """

    def __init__(self, parameter: str, message: str):
        super().__init__(parameter, message)
