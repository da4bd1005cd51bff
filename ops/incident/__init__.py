"""Incident response: diagnostics bundles, notifications, controlled restarts."""
