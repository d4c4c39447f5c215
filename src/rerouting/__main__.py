"""``python -m rerouting`` runs the command-line interface."""

from __future__ import annotations

from rerouting._cli import main

if __name__ == "__main__":
    main()
