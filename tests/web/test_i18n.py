"""Swedish by default, English on request; the shipped catalog is complete and compiled."""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from elevflow.engine.storage.models import User

from .conftest import csrf, login, post, text

WEBUI = Path(__file__).resolve().parents[2] / "webui"
CATALOG = WEBUI / "translations" / "en" / "LC_MESSAGES"


def test_pages_are_swedish_by_default(client):
    login(client, "teacher")
    page = text(client.get("/uppgifter"))
    assert '<html lang="sv">' in page and "Mina uppgifter" in page and "Hoppa till innehållet" in page


def test_the_language_switch_renders_english_and_is_remembered_for_the_user(client, make_app, engine):
    login(client, "teacher")
    switched = post(client, "/sprak", {"lang": "en", "next": "/elever"})
    assert switched.headers["Location"] == "/elever"
    page = text(client.get("/uppgifter"))
    assert '<html lang="en">' in page and "My tasks" in page and "Mina uppgifter" not in page
    with engine.db.read() as s:
        assert s.scalar(select(User.language).where(User.username == "teacher")) == "en"
    later = make_app().test_client()
    login(later, "teacher")
    assert "My tasks" in text(later.get("/uppgifter"))


def test_the_login_page_can_be_switched_before_logging_in(client):
    client.post("/sprak", data={"lang": "en", "csrf_token": csrf(client)})
    page = text(client.get("/logga-in"))
    assert "Log in to Elevflow" in page and "Username" in page
    assert client.post("/sprak", data={"lang": "klingon", "csrf_token": csrf(client)}).status_code == 302
    assert "Log in to Elevflow" in text(client.get("/logga-in"))
    login(client, "teacher")  # whose own language is Swedish: the choice made before logging in holds
    assert "My tasks" in text(client.get("/uppgifter"))


def test_validation_messages_follow_the_language(client, open_task):
    login(client, "teacher")
    post(client, "/sprak", {"lang": "en"})
    page = text(client.get(f"/uppgifter/{open_task.id}"))
    version = page.split('name="_row_version" value="')[1].split('"')[0]
    response = post(client, f"/uppgifter/{open_task.id}", {"_row_version": version, "f.beskrivning": "kort"})
    assert "This field is required." in text(response) and "Write at least 10 characters." in text(response)


def test_the_compiled_catalog_matches_the_po_file():
    with open(CATALOG / "messages.po", "rb") as po:
        catalog = read_po(po, locale="en")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (CATALOG / "messages.mo").read_bytes(), \
        "messages.mo is stale: run .venv/bin/pybabel compile -d webui/translations"


def test_every_string_in_the_code_and_templates_has_an_english_translation():
    method_map, options_map = parse_mapping_cfg(io.StringIO((WEBUI / "babel.cfg").read_text()))
    in_code = {message if isinstance(message, str) else message[0]
               for folder in (WEBUI, WEBUI.parent / "engine")  # the engine marks its notification lines
               for _file, _line, message, _comments, _context in
               extract_from_dir(str(folder), method_map, options_map)}
    with open(CATALOG / "messages.po", "rb") as po:
        catalog = read_po(po, locale="en")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                  if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [m.string])}
    assert in_code - translated == set(), "add these to messages.po (docs/web.md, Languages)"
    assert translated - in_code == set(), "these are no longer used: remove them from messages.po"
