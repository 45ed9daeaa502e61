"""Tables, connections and transactions, the step path's DB-API SQL, a case's stored state, the live cache,
the hash-chained audit log, and the schema's migrations.

Import the modules themselves (`from elevflow.engine.storage import ...`); this file re-exports nothing.
"""
