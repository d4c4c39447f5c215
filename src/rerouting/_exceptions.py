"""Errors and warnings raised by rerouting.

Every error a user can cause is a :class:`ReroutingError`. Each carries the
place it happened (file, row, column, value) when known, and a hint that says
what to do next. The CLI prints ``str(error)`` and exits with ``error.exit_code``;
it never shows a traceback for these.

Hierarchy::

    ReroutingError
    ├── InputError                  (exit 3) the data handed to us is unusable
    │   ├── SourceNotFoundError     a path or glob matched no file
    │   ├── FormatDetectionError    the file's columns match no known format
    │   ├── SchemaError             columns or dtypes are missing or wrong
    │   ├── ParseError              a value cannot be read (bad date, garbage bytes)
    │   ├── CodeMappingError        a country or HS code cannot be mapped
    │   └── CurrencyError           values in several currencies and no rate table
    ├── ConfigError                 (exit 2) a scenario, flag or config file is invalid
    │   └── UnknownListError        no product list or bloc by that name
    └── NoDataError                 (exit 4) nothing left after filtering to the scenario

    ReroutingWarning
    └── DataQualityWarning          something was dropped or adjusted; see the ingest report
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeMappingError",
    "ConfigError",
    "CurrencyError",
    "DataQualityWarning",
    "FormatDetectionError",
    "InputError",
    "NoDataError",
    "ParseError",
    "ReroutingError",
    "ReroutingWarning",
    "SchemaError",
    "SourceNotFoundError",
    "UnknownListError",
]


class ReroutingError(Exception):
    """Base class of every error a user can cause.

    Args:
        message: What went wrong, in one sentence.
        file: The file being read, if any.
        row: The 1-based data row (header excluded), if known.
        line: The 1-based line of the file (the header is line 1), if known.
        column: The column at fault, if any.
        value: The offending value, if any.
        hint: What the user can do about it, in Python syntax when it shows a call.
        cli_hint: The same advice in command-line syntax, when it differs; the CLI
            prints it instead of ``hint`` (:meth:`cli_text`).
    """

    exit_code: int = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
        hint: str | None = None,
        cli_hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.line = line
        self.column = column
        self.value = value
        self.hint = hint
        self.cli_hint = cli_hint
        super().__init__(self._render())

    def cli_text(self) -> str:
        """The error as the command line shows it: with the CLI hint when there is one."""
        return self._render(self.cli_hint or self.hint)

    def _render(self, hint: str | None = None) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            shown = repr(self.value)
            where.append(f"value {shown if len(shown) <= 60 else shown[:57] + '...'}")
        text = self.message
        if where:
            text = f"{text} ({', '.join(where)})"
        hint = hint or self.hint
        if hint:
            text = f"{text}\nHint: {hint}"
        return text


class InputError(ReroutingError, ValueError):
    """The input data cannot be used as it is."""

    exit_code = 3


class SourceNotFoundError(InputError, FileNotFoundError):
    """A path, glob or folder matched no readable file."""


class FormatDetectionError(InputError):
    """A file's header matches none of the known trade formats."""


class SchemaError(InputError):
    """Required columns are missing, or a column has the wrong type."""

    @classmethod
    def from_missing_columns(
        cls, missing: list[str], available: list[str], *, file: str | None = None
    ) -> SchemaError:
        """Build the error for missing columns, suggesting near matches."""
        import difflib

        close = {m: difflib.get_close_matches(m, available, n=1, cutoff=0.6) for m in missing}
        guesses = [f"{m!r} -> {c[0]!r}" for m, c in close.items() if c]
        hint = f"available columns: {', '.join(available[:25])}"
        if guesses:
            hint = f"did you mean {', '.join(guesses)}? " + hint
        hint += ". Map columns explicitly with columns={'canonical': 'yours'} (CLI: --columns)."
        names = ", ".join(map(repr, missing))
        return cls(f"missing required column(s) {names}", file=file, line=1, hint=hint)


class ParseError(InputError):
    """A value cannot be parsed, or the file is not text or Parquet at all."""


class CodeMappingError(InputError):
    """A country or product code cannot be mapped to the canonical codes."""


class CurrencyError(InputError):
    """Values come in several currencies and no rate table was given."""


class ConfigError(ReroutingError, ValueError):
    """A scenario, flag or configuration file is invalid."""

    exit_code = 2


class UnknownListError(ConfigError):
    """No named product list or bloc exists by that name."""


class NoDataError(ReroutingError, LookupError):
    """No usable rows remain after filtering the data to the scenario."""

    exit_code = 4


class ReroutingWarning(UserWarning):
    """Base class of warnings issued by rerouting."""


class DataQualityWarning(ReroutingWarning):
    """Rows were dropped or adjusted; the ingest report has the counts."""
