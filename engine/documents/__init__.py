"""Decision documents: rendering the PDF, signing with re-authentication, appeal periods and delivery.

Import the modules themselves (`from elevflow.engine.documents import ...`); this file re-exports nothing.
"""
