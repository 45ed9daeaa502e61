"""Routines as BPMN: reading and checking diagrams, deploying immutable versions, parsed specs, form checks,
process owners' drafts and what changed between versions.

Import the modules themselves (`from elevflow.engine.routines import ...`); this file re-exports nothing.
"""
