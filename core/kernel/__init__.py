"""The ground floor every other package stands on: settings, database and models, errors,
logging, the stored vocabulary, idempotency keys, telemetry events and input safety.

Imports nothing else of ours (an import-graph test keeps it so).
"""
