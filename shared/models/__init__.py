"""Pydantic models: API requests and responses, stored documents, events, port payloads."""
