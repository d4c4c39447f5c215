"""Static pieces of the page: CSS, the page script and the offline Vega bundle."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["css", "page_script", "script_json", "vega_bundle", "vega_versions"]

_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)
# The snippet vl-convert bundles: expose the libraries as globals for report.js.
_GLOBALS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"


def _read(name: str) -> str:
    return files("rerouting._report").joinpath(name).read_text(encoding="utf-8")


@cache
def css() -> str:
    """The report's stylesheet."""
    return _read("report.css")


@cache
def page_script() -> str:
    """Sorting and chart drawing (``report.js``), safe to inline in ``<script>``."""
    return _SCRIPT_END.sub(r"<\\/\1", _read("report.js"))


@cache
def vega_bundle(vl_version: str | None = None) -> str:
    """Vega, Vega-Lite and vega-embed as one script that needs no network.

    ``vl-convert-python`` ships the libraries and bundles them; the result is
    cached because bundling takes a few seconds.

    """
    import vl_convert  # a runtime dependency; imported here because it loads slowly

    versions = vl_convert.get_vegalite_versions()
    version = vl_version if vl_version in versions else None
    bundle = str(vl_convert.javascript_bundle(_GLOBALS, vl_version=version))
    # A literal "</script" would end the inline script early; "<\/script" is the same JS.
    return _SCRIPT_END.sub(r"<\\/\1", bundle)


def vega_versions() -> dict[str, str]:
    """Versions of the bundled chart libraries, for the report's footer."""
    import vl_convert

    return {
        "vega": str(vl_convert.get_vega_version()),
        "vega-embed": str(vl_convert.get_vega_embed_version()),
    }


def script_json(obj: Any) -> str:
    """``obj`` as JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\\u003c`` etc. so that no data string
    (a product description such as ``</script><script>…``) can close the element
    or open a comment; U+2028/U+2029 are escaped for old JavaScript parsers.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
