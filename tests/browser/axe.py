"""axe-core (tests/browser/vendor/axe.min.js, vendored: the tests run offline) on the page a browser test
has open: its serious and critical violations. The script is evaluated through the browser's debugging
protocol, so the app's Content Security Policy stays as it is."""
from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def serious_violations(page: Any, within: str | None = None) -> list[dict[str, Any]]:
    """The page's (or, with `within`, that CSS selector's) serious and critical violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    found = page.evaluate("""async (within) => {
        const result = await window.axe.run(within ? {include: [within]} : document,
                                            {resultTypes: ['violations']});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""", within)
    return list(found)
