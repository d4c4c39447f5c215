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
        hint: What the user can do about it, in Python terms (``format='tidy'``).
        cli_hint: The same advice in command-line terms (``--format tidy``), when it
            differs; the CLI prints it instead of ``hint``.
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

    def located(self) -> str:
        """The message with its place (file, line, row, column, value), without the hint."""
        return self._render(hint=None)

    def _render(self, hint: str | None = "") -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:  # a CLI flag is an option, anything else a column
            flag = self.column.startswith("--")
            where.append(f"option {self.column}" if flag else f"column {self.column!r}")
        if self.value is not None:
            shown = repr(self.value)
            where.append(f"value {shown if len(shown) <= 60 else shown[:57] + '...'}")
        text = self.message
        if where:
            text = f"{text} ({', '.join(where)})"
        hint = self.hint if hint == "" else hint
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
        guesses = {m: c for m in missing if (c := near_miss(m, available))}
        found = f"available columns: {', '.join(available[:25])}"
        names = ", ".join(map(repr, missing))
        if not guesses:
            return cls(
                f"missing required column(s) {names}",
                file=file,
                line=1,
                hint=f"{found}. Map columns explicitly with columns={{'canonical': 'yours'}}",
                cli_hint=f"{found}. Map columns explicitly with --columns canonical=yours",
            )
        py = ", ".join(f"{m!r}: {c!r}" for m, c in guesses.items())
        cli = ",".join(f"{m}={c}" for m, c in guesses.items())
        did = ", ".join(f"{c!r} for {m!r}" for m, c in guesses.items())
        return cls(
            f"missing required column(s) {names}; did you mean {did}?",
            file=file,
            line=1,
            hint=f"map it: columns={{{py}}}; {found}",
            cli_hint=f"map it: --columns {_shell_word(cli)}; {found}",
        )

    @classmethod
    def column_not_found(
        cls, key: str, column: str, available: list[str], *, file: str | None = None
    ) -> SchemaError:
        """A column named in a ``columns=`` / ``--columns`` mapping is not in the file."""
        near = near_miss(column, available)
        found = f"the file's columns: {', '.join(available[:25])}"
        msg = f"column {column!r} not found" + (f"; did you mean {near!r}?" if near else "")
        use = near or "..."
        return cls(
            msg,
            file=file,
            line=1,
            column=key,
            hint=f"e.g. columns={{{key!r}: {use!r}}}; {found}",
            cli_hint=f"e.g. --columns {_shell_word(f'{key}={use}')}; {found}",
        )


def near_miss(name: str, available: list[str]) -> str | None:
    """The available name closest to ``name`` (case and punctuation ignored), if close."""
    import difflib

    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    by_norm = {norm(a): a for a in reversed(available)}
    close = difflib.get_close_matches(norm(name), list(by_norm), n=1, cutoff=0.6)
    return by_norm[close[0]] if close else None


def _shell_word(text: str) -> str:
    """``text`` quoted for a POSIX shell when it needs it."""
    import shlex

    return shlex.quote(text)


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
