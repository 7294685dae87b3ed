"""The one error type the simulator's commands report as a one-line message."""

from __future__ import annotations


class SimError(Exception):
    """Bad input or an unusable service: the message names the file, key or answer at fault."""
