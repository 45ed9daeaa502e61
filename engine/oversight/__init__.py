"""Need to know and follow-up: who sees which case and the access log; quality figures per unit, routine and
term.

Import the modules themselves (`from elevflow.engine.oversight import ...`); this file re-exports nothing.
"""
