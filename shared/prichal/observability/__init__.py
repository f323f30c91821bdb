"""Metrics, traces and logs, set up once per process."""
