"""Writing the model files without ever leaving a half-written one.

Every file is written to a hidden temporary name in the output folder and renamed into place
only once all files of the run are written, so a failed or interrupted run leaves the previous
files as they were (and at worst a `.partial` file, never a truncated model file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import ujson

from offline.learn.ranking import PAD, lengths
from offline.logs.errors import InputError


def list_lines(key_name: str, list_name: str, keys: np.ndarray, lists: np.ndarray, ids: np.ndarray):
    """JSON lines {key_name: key, list_name: [track ids]} for the rows with a non-empty list;
    `lists` holds dense indices that `ids` maps to track ids."""
    sizes = lengths(lists)
    mapped = np.where(lists == PAD, PAD, ids[np.clip(lists, 0, None)])
    for key, row, size in zip(keys.tolist(), mapped.tolist(), sizes.tolist(), strict=True):
        if size:
            yield ujson.dumps({key_name: key, list_name: row[:size]}) + "\n"


class Staging:
    """Files written under temporary names, renamed into place together by `commit`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.staged: list[tuple[Path, Path]] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"cannot create --out {folder}: {error.strerror or error}") from None

    def _temporary(self, name: str) -> Path:
        return self.folder / f".{name}.{os.getpid()}.partial"

    def write_text(self, name: str, chunks: Iterable[str]) -> Path:
        final, temporary = self.folder / name, self._temporary(name)
        try:
            with open(temporary, "w", encoding="utf-8") as file:
                buffer: list[str] = []
                for chunk in chunks:
                    buffer.append(chunk)
                    if len(buffer) >= 4096:
                        file.write("".join(buffer))
                        buffer.clear()
                file.write("".join(buffer))
                file.flush()
                os.fsync(file.fileno())
        except OSError as error:
            self.abort()
            temporary.unlink(missing_ok=True)
            raise InputError(f"cannot write {final}: {error.strerror or error}") from None
        self.staged.append((temporary, final))
        return final

    def write_json(self, name: str, value: object) -> Path:
        return self.write_text(name, [ujson.dumps(value, indent=1, escape_forward_slashes=False)])

    def commit(self) -> list[Path]:
        done = []
        for temporary, final in self.staged:
            os.replace(temporary, final)
            done.append(final)
        self.staged = []
        return done

    def abort(self) -> None:
        for temporary, _ in self.staged:
            temporary.unlink(missing_ok=True)
        self.staged = []
