"""What an import changed (or, on a dry run, would change): counts per kind and one line per change."""
from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("organiser", "units", "staff", "roles", "pupils", "guardians", "guardian links")


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    removed: int = 0  # staff, pupils, guardians: deactivated; roles and guardian links: deleted


@dataclass
class ImportReport:
    """The outcome of one import. `lines` say what changed; `notes` say what the source held that
    Elevflow left aside (ignored duties, pupils no longer in the source): they are not changes."""

    source: str
    dry_run: bool = False
    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def added(self, kind: str, line: str) -> None:
        self.counts[kind].added += 1
        self.lines.append(line)

    def updated(self, kind: str, line: str) -> None:
        self.counts[kind].updated += 1
        self.lines.append(line)

    def removed(self, kind: str, line: str) -> None:
        self.counts[kind].removed += 1
        self.lines.append(line)

    @property
    def changed(self) -> bool:
        """True if the import changed (or would change) anything in the database."""
        return bool(self.lines)

    def summary(self) -> str:
        """One line: the counts of every kind that changed, or that nothing did."""
        verb = "would change" if self.dry_run else "changed"
        parts = [f"{kind} {c.added} added, {c.updated} updated, {c.removed} removed"
                 for kind, c in self.counts.items() if c.added or c.updated or c.removed]
        return f"{self.source}: {verb}: " + ("; ".join(parts) if parts else "nothing")

    def render(self) -> str:
        """The whole report as text: changes, then notes, then the summary line."""
        out = [f"  {line}" for line in self.lines]
        out += [f"  note: {note}" for note in self.notes]
        if self.dry_run:
            out.append("Dry run: nothing was written.")
        out.append(self.summary())
        return "\n".join(out)
