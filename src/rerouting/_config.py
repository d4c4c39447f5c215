"""The scenario: one validated model shared by the Python API, CLI flags and TOML files.

A scenario says who is sanctioned against whom, when, through which hubs and for
which products. ``Scenario.from_toml`` reads a ``scan.toml``; CLI flags override
the file's fields.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from rerouting._exceptions import ConfigError
from rerouting._rank import Sort  # noqa: TC001 (pydantic reads the annotation at runtime)
from rerouting._score import SCORERS, SUPERVISED

__all__ = ["Scenario", "parse_month", "parse_window"]

_MONTH = re.compile(r"^\s*(\d{4})(?:[-/.]?(\d{1,2}))?(?:[-/.](\d{1,2}))?\s*$")


def _check_scorer_name(value: Any) -> Any:
    if isinstance(value, str) and value not in (*SCORERS, SUPERVISED):
        raise ValueError(f"unknown scorer {value!r}; use one of {', '.join(SCORERS)}")
    return value


#: A scorer name from :data:`rerouting._score.SCORERS`, or ``supervised``.
Scorer = Annotated[str, AfterValidator(_check_scorer_name)]


def parse_month(value: Any, *, field: str = "date") -> dt.date:
    """Parse ``2022-03``, ``202203``, ``2022-03-15`` or ``2022`` to the first day of the month.

    Raises:
        ConfigError: the value is not a date, with a hint showing accepted forms.
    """
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = _MONTH.match(str(value))
    if match:
        year, month = int(match.group(1)), int(match.group(2) or 1)
        if 1 <= month <= 12 and 1900 <= year <= 2200:
            day = match.group(3)
            try:  # a full date must exist (2022-03-32 does not)
                dt.date(year, month, int(day) if day else 1)
            except ValueError:
                pass
            else:
                return dt.date(year, month, 1)
    raise ConfigError(
        f"{field} is not a valid month",
        column=field,
        value=value,
        hint="write it as YYYY-MM, e.g. 2022-03 (YYYYMM and YYYY-MM-DD work too)",
    )


def parse_window(value: Any, *, field: str) -> tuple[dt.date, dt.date] | None:
    """Parse ``START:END`` (or a 2-sequence) into an inclusive month window."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) != 2:
            raise ConfigError(
                f"{field} must be START:END",
                column=field,
                value=value,
                hint="e.g. 2020-03:2022-02",
            )
        value = parts
    start, end = (parse_month(v, field=field) for v in value)
    if end < start:
        raise ConfigError(f"{field} ends before it starts", column=field, value=value)
    return (start, end)


def _split_codes(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(v.strip().upper() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v).strip().upper() for v in value if str(v).strip())
    return value


Codes = Annotated[tuple[str, ...], BeforeValidator(_split_codes)]


class Scenario(BaseModel):
    """What to look for: origin → hubs → destination, for some products, after an event.

    Attributes:
        origin: ISO3 codes or bloc names (``EU``, ``EAEU``) the goods come from.
        destination: ISO3 codes or bloc names the goods are meant for.
        event: Month the sanctions took effect (first post-event month).
        hubs: Candidate third countries; ``None`` means every country with both legs.
        products: A named list (``chpl``, ``eu-833``, ``belarus``), a file with one code
            per line, comma-separated HS prefixes, or ``None`` for every product.
        baseline: Inclusive pre-event window; default: up to 24 months before the event.
        post: Inclusive post-event window; default: the event to the end of the data.
        scorer: Which score ranks the routes (``supervised``: a fitted
            ``RouteClassifier`` passed to ``scan``).
        cif_fob_margin: CIF/FOB margin used to put imports on an FOB basis (IMF: 6%).
        min_value: Routes whose pass-through bound is below this (in data currency)
            are kept but flagged immaterial.
        max_lag: Largest lag, in months, between the hub's inflow and outflow.
        currency: Currency to report values in; requires a rate table if data differ.
        sort: What ranks the routes: ``priority`` (evidence, then money; the default),
            ``score`` (evidence only) or ``value`` (value at stake per year); see
            ``docs/detection.md#ranking``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    origin: Codes
    destination: Codes
    event: dt.date
    hubs: Codes | None = None
    products: str | tuple[str, ...] | None = None
    baseline: tuple[dt.date, dt.date] | None = None
    post: tuple[dt.date, dt.date] | None = None
    scorer: Scorer = "default"
    cif_fob_margin: float = Field(default=0.06, ge=0.0, le=0.5)
    min_value: float = Field(default=0.0, ge=0.0)
    max_lag: int = Field(default=3, ge=0, le=12)
    currency: str | None = None
    sort: Sort = "priority"

    def __init__(self, **data: Any) -> None:
        # A user error from Python is a ReroutingError: pydantic's is wrapped, with the
        # nearest field name for a misspelt one.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _scenario_error(exc) from None

    @model_validator(mode="before")
    @classmethod
    def _parse_dates(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "event" in data and data["event"] is not None:
                data["event"] = parse_month(data["event"], field="event")
            for key in ("baseline", "post"):
                if data.get(key) is not None:
                    data[key] = parse_window(data[key], field=key)
            if isinstance(data.get("products"), list):
                data["products"] = tuple(str(p) for p in data["products"])
        return data

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if not self.origin:
            raise ValueError("origin needs at least one country or bloc")
        if not self.destination:
            raise ValueError("destination needs at least one country or bloc")
        if self.baseline and self.baseline[1] >= self.event:
            raise ValueError("baseline must end before the event")
        return self

    @classmethod
    def build(cls, **fields: Any) -> Scenario:
        """Validate ``fields`` into a scenario, raising ``ConfigError`` with a hint."""
        return cls(**{k: v for k, v in fields.items() if v is not None})

    def with_overrides(self, **fields: Any) -> Scenario:
        """This scenario with ``fields`` replaced; ``None`` leaves a field as it is.

        The one place where explicit arguments (Python keywords, CLI flags) are merged
        into a scenario from a file or an object.
        """
        given = {k: v for k, v in fields.items() if v is not None}
        return Scenario.build(**{**self.model_dump(exclude_none=True), **given})

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> Scenario:
        """Read a scenario from a TOML file (top level or a ``[scenario]`` table)."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ConfigError("config file not found", file=str(p)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file is not valid TOML: {exc}", file=str(p)) from None
        data = data.get("scenario", data)
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.build(**data)
        except ConfigError as exc:
            if exc.column in overrides:  # a flag's own error: the file is not at fault
                raise
            raise ConfigError(
                exc.message, file=str(p), column=exc.column, value=exc.value, hint=exc.hint
            ) from None


def _scenario_error(exc: ValidationError) -> ConfigError:
    """The first problem of a pydantic error as a ``ConfigError``; unknown fields first."""
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = (unknown or errors)[0]
    loc = ".".join(str(p) for p in err["loc"]) or "scenario"
    if unknown:
        near = difflib.get_close_matches(loc, list(Scenario.model_fields), n=1, cutoff=0.6)
        fields = ", ".join(Scenario.model_fields)
        return ConfigError(
            f"unknown scenario field {loc!r}" + (f"; did you mean {near[0]!r}?" if near else ""),
            column=loc,
            hint=f"fields are: {fields}",
        )
    msg = str(err["msg"]).removeprefix("Value error, ")
    if loc == "scenario" and msg.split(" ", 1)[0] in Scenario.model_fields:
        loc = msg.split(" ", 1)[0]  # a whole-scenario check names its field first
    value = err.get("input")
    return ConfigError(
        f"invalid scenario: {msg}",
        column=loc,
        value=None if isinstance(value, dict) else value,
        hint="see docs/cli.md (command line) or help(rerouting.Scenario) for accepted values",
    )
