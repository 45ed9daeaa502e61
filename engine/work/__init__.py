"""Who does the work and who is told: candidates, claims and delegations, the worklist, in-app notifications,
the e-mail outbox and digest, reminders and escalation.

Import the modules themselves (`from elevflow.engine.work import ...`); this file re-exports nothing.
"""
