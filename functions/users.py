"""The users function: the signed-in user's own profile and preferences."""

from __future__ import annotations

from shared.accounts import profiles
from shared.http import Api, ApiRequest
from shared.models.user import PreferencesUpdate, UserProfile

api = Api("users")


@api.route("GET", "/users/me", response=UserProfile)
def get_my_profile(request: ApiRequest) -> UserProfile:
    """The signed-in user's profile (created with defaults on first use)."""
    container = request.container
    return profiles.get_or_create_profile(container.store, container.clock, request.verified_caller)


@api.route("PATCH", "/users/me", body=PreferencesUpdate, response=UserProfile)
def update_my_preferences(request: ApiRequest) -> UserProfile:
    """Change the fields present in the body; null clears an optional one."""
    update = request.json(PreferencesUpdate)
    container = request.container
    return profiles.update_preferences(
        container.store, container.clock, request.verified_caller, update
    )
