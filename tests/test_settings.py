"""settings.load: the one read of the environment, into a frozen Config that the Engine is built from."""
from __future__ import annotations

import dataclasses

import pytest

from elevflow.engine import ElevflowError, settings


def test_every_setting_has_its_typed_field_and_overrides_go_by_name(monkeypatch):
    monkeypatch.setenv("ELEVFLOW_SMTP_PORT", "2525")
    monkeypatch.setenv("ELEVFLOW_DIGEST_HOUR", "6")
    config = settings.load({"DIGEST_HOUR": "8", "smtp_starttls": "off", "ELEVFLOW_MAX_STEP_SECONDS": 1.5,
                            "TESTING": True})  # a key that names no setting is the caller's (Flask's)
    assert config.smtp_port == 2525 and config.digest_hour == 8 and config.smtp_starttls is False
    assert config.max_step_seconds == 1.5
    fields = [f.name for f in dataclasses.fields(config)]
    assert fields == [settings.field_name(s.name) for s in settings.SETTINGS]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.smtp_port = 25  # type: ignore[misc]


def test_an_override_is_parsed_as_strictly_as_the_environment(monkeypatch):
    with pytest.raises(ElevflowError, match="ELEVFLOW_DIGEST_HOUR='25' is not valid"):
        settings.load({"DIGEST_HOUR": "25"})
    monkeypatch.setenv("ELEVFLOW_SMTP_PORT", "many")
    with pytest.raises(ElevflowError, match="ELEVFLOW_SMTP_PORT='many' is not valid"):
        settings.load()
