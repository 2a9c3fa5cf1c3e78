"""Accounts: profiles and preferences (roles and teacher links come with the trust work)."""
