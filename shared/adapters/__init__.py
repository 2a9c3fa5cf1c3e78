"""Adapters of the ports on real client libraries (Google Cloud, Firebase)."""
