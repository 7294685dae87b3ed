"""A day's progress: a bar on a terminal (a real pseudo-terminal here), and in a file a plain
line every few seconds and one at the day's end."""

from __future__ import annotations

import os

from sim.progress import PlainProgress, progress


class Clock:
    """Seconds that the test moves on by hand: the lines depend on time passing."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_file_gets_a_line_every_few_seconds_and_one_at_the_end(tmp_path):
    clock = Clock()
    path = tmp_path / "log.txt"
    with open(path, "w") as log:
        plain = PlainProgress(3000, "day 2", log, every=5.0, clock=clock)
        for _ in range(24):  # 250 sessions a second, for 12 s
            clock.now += 0.5
            plain.update(125)
        plain.close()
    assert path.read_text().splitlines() == [
        "day 2: 1,250/3,000 sessions (42%), 5 s",
        "day 2: 2,500/3,000 sessions (83%), 10 s",
        "day 2: 3,000/3,000 sessions (100%), 12 s",
    ]


def test_progress_is_plain_text_in_a_file_and_a_bar_on_a_terminal(tmp_path):
    path = tmp_path / "log.txt"
    with open(path, "w") as log, progress(50, "day 3", log) as update:
        for _ in range(50):
            update(1)
    assert path.read_text().splitlines()[-1].startswith("day 3: 50/50 sessions (100%), ")
    assert "\r" not in path.read_text()

    controller, terminal = os.openpty()
    with open(terminal, "w") as screen, progress(50, "day 3", screen) as update:
        for _ in range(50):
            update(1)
    shown = os.read(controller, 65536).decode()
    os.close(controller)
    assert "\r" in shown and "day 3: 100%" in shown and "50/50" in shown
