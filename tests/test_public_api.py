"""The public API is explicit: `__all__` lists exactly the public top-level names."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

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
    assert modules == {"features", "reference", "synthetic"}
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
