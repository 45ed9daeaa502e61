"""A task's JSON Schema as an HTML form: which widget each property gets, reading the submitted form
back into JSON values by type, and validation messages in plain Swedish (or English).

Form field names are the property's dotted path behind ``f.`` (``f.ap_behov.0.omrade``), which is also
the key the engine and `messages.translate` use for a field's errors.
"""
from .fields import Field, build, summary
from .messages import date_message, translate
from .parse import apply_action, parse, to_raw

__all__ = ["Field", "build", "summary", "translate", "date_message", "parse", "to_raw", "apply_action"]
