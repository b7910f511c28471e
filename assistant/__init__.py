"""Retrieval, the answer chain, the chat app and the CLI."""

from ingest.env import apply_offline_env

apply_offline_env()
