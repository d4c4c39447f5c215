"""Private building blocks of :mod:`rerouting.synthetic` (countries, products, engine)."""

from __future__ import annotations
