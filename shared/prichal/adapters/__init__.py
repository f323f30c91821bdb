"""Adapters: everything that talks to the outside world (DB, Redis, MQ, S3, HTTP clients)."""
