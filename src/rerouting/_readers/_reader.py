"""What a reader is: the contract each input format implements (see ``_registry``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import polars as pl

    from rerouting._readers._source import SourceFile

__all__ = ["Reader", "Requires", "StageArgs", "missing_groups"]

#: What a format's header must hold: one name of each group (normalised header names).
Requires = tuple[tuple[str, ...], ...]


def missing_groups(requires: Requires, normalised: set[str]) -> list[tuple[str, ...]]:
    """The groups of ``requires`` that no header name satisfies."""
    return [group for group in requires if not normalised & set(group)]


@dataclass(frozen=True)
class StageArgs:
    """What every reader's staging gets besides the source file."""

    file_index: int
    columns: Mapping[str, str] | None  # canonical name -> the user's column
    overrides: Mapping[str, str] | None  # the format's field name -> the user's column
    currency: str | None
    baci_table: Path | None
    notes: list[str]


@dataclass(frozen=True)
class Reader:
    """One input format.

    Attributes:
        name: What users pass as ``format=`` / ``--format``.
        matches: Does a set of normalised header names look like this format?
        stage: Lazily turn a source into staged rows (see ``_readers._common.stage``).
        fields: Canonical name -> this format's field name, for ``columns=`` overrides;
            ``None`` when ``columns=`` maps canonical names directly (tidy); empty when
            the format's columns are fixed (BACI).
        doc: One line for help texts.
        requires: The header groups ``matches`` tests, for "looks like FORMAT; missing X"
            messages when no format matches.
    """

    name: str
    matches: Callable[[set[str]], bool]
    stage: Callable[[SourceFile, StageArgs], pl.LazyFrame]
    fields: Mapping[str, str] | None
    doc: str
    requires: Requires = ()
