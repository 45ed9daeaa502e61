"""Why a form's JSON could not be read, said for a process owner: in their language, with the line and
column, and the line itself with a mark under the place (Python's own messages are English and terse)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask_babel import gettext as _


@dataclass(frozen=True)
class JsonProblem:
    message: str
    excerpt: str  # the line with a ^ under the column ("" when the line is too long to show)


def _why(msg: str) -> str:
    """Python's json message as a sentence a process owner can act on."""
    if msg.startswith("Expecting value"):
        return _("här väntades ett värde: en text inom dubbla citattecken, ett tal, true, false, null, en "
                 "lista [ … ] eller ett objekt { … }. Ett kommatecken för mycket före ] eller } ger också "
                 "det här felet.")
    if msg.startswith("Expecting ',' delimiter"):
        return _("här saknas ett kommatecken mellan två delar.")
    if msg.startswith("Expecting ':' delimiter"):
        return _("här saknas ett kolon (:) efter fältets namn.")
    if msg.startswith("Expecting property name enclosed in double quotes"):
        return _("här väntades ett namn inom dubbla citattecken, som \"titel\". Ett kommatecken för mycket "
                 "före } ger också det här felet.")
    if msg.startswith("Unterminated string"):
        return _("en text börjar här men slutar aldrig: det avslutande citattecknet saknas.")
    if msg.startswith("Invalid control character"):
        return _("en text innehåller en radbrytning eller tabb: skriv \\n för en ny rad.")
    if msg.startswith("Extra data"):
        return _("det finns mer text efter det sista }.")
    if msg.startswith("Invalid") and "escape" in msg:
        return _("ett bakåtsnedstreck (\\) i en text skrivs \\\\.")
    return _("JSON-texten är felskriven här.")


def problem(exc: json.JSONDecodeError) -> JsonProblem:
    message = _("Inte giltig JSON på rad %(line)d, tecken %(column)d: %(why)s", line=exc.lineno,
                column=exc.colno, why=_why(exc.msg))
    lines = exc.doc.splitlines()
    line = lines[exc.lineno - 1].replace("\t", " ") if 0 < exc.lineno <= len(lines) else ""
    excerpt = f"{line}\n{' ' * (exc.colno - 1)}^" if line and len(line) <= 200 else ""
    return JsonProblem(message, excerpt)
