"""Prefect flows and the ``paperflows`` CLI."""
