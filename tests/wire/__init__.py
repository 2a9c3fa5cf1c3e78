"""Local servers that speak the real wire formats of Google services, for contract tests."""
