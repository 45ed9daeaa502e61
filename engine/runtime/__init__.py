"""Running cases: one persisted step, starting and cancelling cases, completing tasks, timers, messages,
moving cases to a newer version, failed steps, and the scheduler's rounds.

Import the modules themselves (`from elevflow.engine.runtime import ...`); this file re-exports nothing.
"""
