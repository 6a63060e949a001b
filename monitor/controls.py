"""Control characters in text from the web, which must never reach a terminal or a reader.

A feed title such as "Deal\x1b[2J\x1b[H signed" clears the screen of whoever prints it (`poll`
on a console, `journalctl`, `sqlite3`), and BEL, backspace or a carriage return can hide or
overwrite what is shown. Text is cleaned once, as it enters the database (the CleanText column
type in monitor/db/models.py), so every later reader (alerts, the web view, the CLI, SQL) gets
clean text. Newline and tab are kept: they are layout, not commands.
"""

from __future__ import annotations

import re

# Whole escape sequences first, so "\x1b[2J" leaves nothing behind rather than "[2J":
# CSI (ESC [ or the one-byte C1 CSI), then OSC/DCS/APC/PM/SOS strings (a window title, say)
# with their terminator, then two-byte ESC sequences. A string without a terminator close by
# loses only its introducer: text mis-decoded from Windows-1252 holds such bytes as letters
# ("\x9e" is "ž" there), and the rest of the article must not go with them.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]P^_X]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,512}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# Then any single C0 control but tab and newline, DEL, and the C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """`text` without C0/C1 control characters (tab and newline kept) and escape sequences."""
    if not _CONTROLS.search(text):
        return text  # the common case costs one scan
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None
