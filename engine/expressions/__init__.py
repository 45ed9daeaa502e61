"""What a routine's expressions, timers and due rules are evaluated with: the sandbox and its evaluation
workers, the helpers expressions may call, the Swedish calendar and school terms, bounds, due rules.

Import the modules themselves (`from elevflow.engine.expressions import ...`); this file re-exports nothing.
"""
