"""The public API is explicit: `__all__` lists exactly the public top-level names."""

from __future__ import annotations

import math
import subprocess
import sys
from types import ModuleType

import polars as pl
import pytest

import rerouting


def test_all_lists_exactly_the_public_names() -> None:
    # Submodules become package attributes when imported; only those in __all__ are API.
    public = {
        name
        for name in dir(rerouting)
        if not name.startswith("_")
        and name != "annotations"  # the `from __future__` feature object
        and not isinstance(getattr(rerouting, name), ModuleType)
    }
    modules = {n for n in rerouting.__all__ if isinstance(getattr(rerouting, n), ModuleType)}
    assert set(rerouting.__all__) - {"__version__"} - modules == public
    assert modules == {"features", "mirror_formulas", "reference", "synthetic"}
    assert len(rerouting.__all__) == len(set(rerouting.__all__))


def test_every_error_is_a_rerouting_error_with_an_exit_code() -> None:
    errors = [getattr(rerouting, n) for n in rerouting.__all__ if n.endswith("Error")]
    assert errors
    for cls in errors:
        assert issubclass(cls, rerouting.ReroutingError)
        assert cls.exit_code in {1, 2, 3, 4}


def test_import_is_light() -> None:
    """Importing the package must not pull in scikit-learn or altair (CLI start-up time)."""
    code = "import sys, rerouting; print('sklearn' in sys.modules, 'altair' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_exports_name_the_package_as_their_home() -> None:
    for name in rerouting.__all__:
        obj = getattr(rerouting, name)
        if isinstance(obj, type) or (callable(obj) and not isinstance(obj, ModuleType)):
            assert obj.__module__ == "rerouting", name


def test_errors_are_also_the_matching_builtin() -> None:
    assert issubclass(rerouting.ConfigError, ValueError)
    assert issubclass(rerouting.InputError, ValueError)
    assert issubclass(rerouting.SourceNotFoundError, FileNotFoundError)
    assert issubclass(rerouting.NoDataError, LookupError)
    # plain Python code can catch it as the builtin it knows
    with pytest.raises(FileNotFoundError, match=r"no/such/file\.csv"):
        rerouting.read_trade("no/such/file.csv")


def test_the_helpers_users_look_for_are_top_level() -> None:
    for name in ("bloc_members", "resolve_countries", "make_world", "product_list"):
        assert callable(getattr(rerouting, name)), name
    assert "default" in rerouting.get_scorer_names()


PUBLIC_MODULES = ("features", "mirror_formulas", "reference", "schema", "synthetic")


def test_a_public_name_means_one_thing() -> None:
    """A name exported twice (top level, public modules) is the same object both times.

    ``features.log_ratio`` and the mirror ``log_ratio`` once took different arguments.
    """
    import importlib

    seen: dict[str, tuple[str, object]] = {
        n: ("rerouting", getattr(rerouting, n)) for n in rerouting.__all__
    }
    for mod_name in PUBLIC_MODULES:
        mod = importlib.import_module(f"rerouting.{mod_name}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if name in seen:
                where, other = seen[name]
                assert other is obj, f"{name}: rerouting.{mod_name} and {where} differ"
            seen.setdefault(name, (f"rerouting.{mod_name}", obj))


def test_mirror_formulas_are_public_and_say_so() -> None:
    from rerouting import mirror_formulas

    assert callable(rerouting.mirror)  # the function, not shadowed by the formulas module
    for name in mirror_formulas.__all__:
        assert getattr(mirror_formulas, name).__module__ == "rerouting.mirror_formulas", name
    df = pl.DataFrame({"x": [100.0], "m": [84.8]})
    got = df.select(
        r=mirror_formulas.log_mirror_ratio("x", mirror_formulas.cif_to_fob("m", 0.06))
    ).item()
    assert got == pytest.approx(math.log(0.8))
