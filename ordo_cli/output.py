"""Where the command's words go: human text by default, or the daemon's replies as JSON
lines with ``--json`` (one document per line, for ``jq`` and pipes). Notes and errors go to
stderr in both modes, so stdout stays machine-readable."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass
class Output:
    json_mode: bool
    stdout: TextIO
    stderr: TextIO

    def reply(self, reply: dict[str, Any], human: str) -> None:
        """One daemon reply: as is in JSON mode, else its human rendering."""
        if self.json_mode:
            self.json_line(reply)
        else:
            self.line(human)

    def json_line(self, document: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.stdout.flush()

    def line(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def note(self, text: str) -> None:
        self.stderr.write(f"ordo: {text}\n")
        self.stderr.flush()
