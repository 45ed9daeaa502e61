"""The form page's builder speaks the reader's language: its words come from the page (data-words), in
Swedish or English, and the raw JSON Schema is on the page for experts (and for a browser without
JavaScript)."""
from __future__ import annotations

import html
import json
import re

from elevflow.engine.routines import editing

from .conftest import post, text


def words(page: str) -> dict:
    return json.loads(html.unescape(re.search(r'data-words="([^"]*)"', page).group(1)))


def test_the_builders_words_follow_the_language_and_the_json_stays(browser, engine, chain, owner):
    draft = editing.open_draft(engine, chain.id, by=owner)
    page = text(browser.get(f"/rutiner/utkast/{draft.id}/formular"))
    said = words(page)
    assert said["label"] == "Etikett" and said["types"]["choices"] == "Flera val"
    assert said["field"] == "Fält %(number)s"  # the script puts the number in
    assert 'id="schema" name="schema"' in page and "JSON Schema (för experter)" in page
    post(browser, "/sprak", {"lang": "en", "next": "/"})
    page = text(browser.get(f"/rutiner/utkast/{draft.id}/formular"))
    said = words(page)
    assert said["label"] == "Label" and said["types"]["choices"] == "Several choices"
    assert said["field"] == "Field %(number)s" and "JSON Schema (for experts)" in page
