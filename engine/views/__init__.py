"""What the web reads per request, each in one transaction: a task as its worker sees it, the logged-in user
and the unit's staff; a user's drafts, follow-up dates and saved filters.

Import the modules themselves (`from elevflow.engine.views import ...`); this file re-exports nothing.
"""
