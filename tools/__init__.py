"""Developer and deployment tools (not deployed: terraform/function_source.json leaves them out)."""
