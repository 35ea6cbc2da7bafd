"""A command on a real pseudo-terminal, and what a person would see on its screen.

:func:`spawn` starts a command with a pty as its stdin, stdout and stderr (so ``isatty()`` is
true, as in a shell); :meth:`Session.finish` reads until it exits. :func:`screen` replays the
bytes it wrote through a small terminal model — cursor moves, line erases, colours — so a
test sees the final screen (with scrollback), not the redraws of a live display.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

WIDTH = 100
HEIGHT = 30
_COLOURS = {30: "black", 31: "red", 32: "green", 33: "yellow", 34: "blue", 35: "magenta"}
_COLOURS |= {36: "cyan", 37: "white"}


@dataclass
class Session:
    process: subprocess.Popen[bytes]
    master: int
    output: bytearray = field(default_factory=bytearray)

    def read_for(self, seconds: float) -> None:
        """Read what the command writes for ``seconds`` (or until it closes the terminal)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if ready and not self._read_once():
                return

    def _read_once(self) -> bool:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every end of the terminal's slave side is closed
            return False
        self.output.extend(chunk)
        return bool(chunk)

    def finish(self, timeout: float = 60.0) -> int:
        """Read to the end and reap the command; its exit code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if ready and not self._read_once():
                    break
                if not ready and self.process.poll() is not None:
                    self.read_for(0.1)
                    break
            return self.process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self.master)


def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str, *, width: int = WIDTH) -> Session:
    """``argv`` on a new pty ``width`` columns wide, as an xterm-like terminal."""
    master, slave = pty.openpty()
    terminal = {"TERM": "xterm-256color", "COLUMNS": str(width), "LINES": str(HEIGHT)}
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, **terminal},
            cwd=cwd,
            close_fds=True,
        )
    finally:
        os.close(slave)
    return Session(process, master)


_ESCAPE = re.compile(
    rb"\x1b\[([?0-9;]*)([A-Za-z])"  # CSI: cursor moves, erases, colours, modes
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, links (nothing on screen)
    rb"|\x1b[()][0-9A-B]"  # character sets
)


def screen(output: bytes, *, colours: bool = True) -> str:
    """The screen (and scrollback) after ``output``: lines right-stripped, trailing blank
    lines dropped. With ``colours``, a coloured run of text reads ``<red>…</red>``."""
    rows: list[list[tuple[str, str]]] = [[]]
    row = col = 0
    colour = ""
    data = bytes(output)
    at = 0
    while at < len(data):
        match = _ESCAPE.match(data, at)
        if match:
            params, final = match.group(1), match.group(2)
            at = match.end()
            if final is None:
                continue
            numbers = [int(n) for n in params.decode().lstrip("?").split(";") if n.isdigit()]
            count = numbers[0] if numbers else 1
            letter = final.decode()
            if letter == "A":
                row = max(row - count, 0)
            elif letter == "B":
                row += count
            elif letter == "C":
                col += count
            elif letter == "D":
                col = max(col - count, 0)
            elif letter == "G":
                col = max(count - 1, 0)
            elif letter == "K":
                _grow(rows, row)
                mode = numbers[0] if numbers else 0
                line = rows[row]
                if mode == 2:
                    rows[row] = []
                elif mode == 0:
                    del line[col:]
                else:
                    line[: col + 1] = [(" ", "")] * min(col + 1, len(line))
            elif letter == "m":
                colour = _sgr(numbers or [0], colour)
            continue
        # One character, decoded whole (a UTF-8 sequence is up to 4 bytes).
        width = 1
        while width < 4 and (data[at] & 0xC0) == 0xC0 and at + width < len(data):
            if (data[at + width] & 0xC0) != 0x80:
                break
            width += 1
        char = data[at : at + width]
        at += width
        if char == b"\n":
            row, col = row + 1, 0
        elif char == b"\r":
            col = 0
        elif char == b"\x08":
            col = max(col - 1, 0)
        elif char in (b"\x07", b"\x00"):
            pass
        else:
            _grow(rows, row)
            line = rows[row]
            while len(line) < col:
                line.append((" ", ""))
            cell = (char.decode("utf-8", errors="replace"), colour)
            if col < len(line):
                line[col] = cell
            else:
                line.append(cell)
            col += 1
    lines = [_render(line, colours) for line in rows]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _grow(rows: list[list[tuple[str, str]]], row: int) -> None:
    while len(rows) <= row:
        rows.append([])


def _sgr(numbers: Sequence[int], colour: str) -> str:
    """The foreground colour after an SGR sequence; 256-colour and RGB ones name none."""
    at = 0
    while at < len(numbers):
        number = numbers[at]
        if number in (38, 48):  # 38;5;N or 38;2;R;G;B: a colour this model does not name
            skip = 2 if numbers[at + 1 : at + 2] == [5] else 4
            colour = "other" if number == 38 else colour
            at += skip + 1
            continue
        if number in (0, 39):
            colour = ""
        elif number in _COLOURS:
            colour = _COLOURS[number]
        at += 1
    return colour


def _render(line: Sequence[tuple[str, str]], colours: bool) -> str:
    parts: list[str] = []
    current = ""
    for char, colour in line:
        colour = colour if char.strip() or colour == current else current
        if colours and colour != current:
            if current:
                parts.append(f"</{current}>")
            if colour:
                parts.append(f"<{colour}>")
            current = colour
        parts.append(char)
    text = "".join(parts).rstrip()
    if colours and current:
        text += f"</{current}>"
    return text
