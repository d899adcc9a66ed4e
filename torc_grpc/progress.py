"""Live progress for `run` and `status --watch`: on a terminal a bar that
redraws in place (tqdm) with done/total, elapsed time, rate and ETA; when
the output is a file or a pipe, plain lines, one whenever something finished
but at most every PLAIN_SECONDS, and the last one always. Fed with status
records (views.status_record) as the server pushes changes."""

from __future__ import annotations

import os
import time
from typing import Optional, TextIO

from . import views

#: Not a terminal: at most one line this often (the last one always).
PLAIN_SECONDS = 5.0


class Progress:
    def __init__(self, out: TextIO, tty: Optional[bool] = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self._bar = None
        self._started = time.monotonic()
        self._last_line = 0.0
        self._last_done = -1

    def update(self, record: dict, final: bool = False) -> None:
        if self.tty:
            self._draw(record)
        else:
            self._line(record, final)

    def close(self, record: Optional[dict] = None) -> None:
        if record is not None:
            self.update(record, final=True)
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _draw(self, record: dict) -> None:
        from tqdm import tqdm  # noqa: PLC0415 (only on a terminal)

        if self._bar is None:
            try:
                size = os.get_terminal_size(self.out.fileno())
                width, height = size.columns, size.lines
            except (OSError, ValueError, AttributeError):
                width = height = 0
            # A terminal that says it is 0 x 0 (a bare pty) gets a usual size: tqdm hides bars
            # outside the screen's height.
            self._bar = tqdm(total=record["num_jobs"], unit="job", file=self.out, ncols=width or 100,
                             nrows=height or 24, dynamic_ncols=bool(width), smoothing=0.1,
                             bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}] "
                             "{postfix}")
        bar = self._bar
        bar.total = record["num_jobs"]
        bar.set_postfix_str(f"{record['state']}: " + ", ".join(f"{k} {v}" for k, v in record["counts"].items()),
                            refresh=False)
        bar.update(max(0, record["done"] - bar.n))
        bar.refresh()

    def _line(self, record: dict, final: bool) -> None:
        now = time.monotonic()
        if not final and (record["done"] == self._last_done or now - self._last_line < PLAIN_SECONDS):
            return
        self._last_line, self._last_done = now, record["done"]
        elapsed = now - self._started
        rate = record["done"] / elapsed if elapsed > 0 else 0.0
        left = record["num_jobs"] - record["done"]
        eta = f", ETA {left / rate:.0f} s" if rate > 0 and left and record["state"] == "running" else ""
        print(f"{views.progress_bar(record)} ({elapsed:.0f} s, {rate:.1f} jobs/s{eta})", file=self.out, flush=True)
