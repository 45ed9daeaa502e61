"""The organisation: units, staff, pupils and their roles; who may do what; passwords; the demo organisation;
importing from CSV and SS 12000.

Import the modules themselves (`from elevflow.engine.org import ...`); this file re-exports nothing.
"""
