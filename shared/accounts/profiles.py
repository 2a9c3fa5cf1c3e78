"""Reading and changing a user's own profile."""

from __future__ import annotations

from typing import Any

from shared.models.identity import Caller
from shared.models.user import Preferences, PreferencesUpdate, UserProfile
from shared.ports import Clock, DocumentStore, Transaction


def profile_path(uid: str) -> str:
    return f"users/{uid}"


def get_or_create_profile(store: DocumentStore, clock: Clock, caller: Caller) -> UserProfile:
    """The caller's profile, created with defaults on first sight (safe to call concurrently)."""
    path = profile_path(caller.uid)
    found = store.get(path)
    if found is None:
        now = clock.now()
        fresh = UserProfile(
            uid=caller.uid,
            role=caller.role,
            preferences=Preferences(),
            created_at=now,
            updated_at=now,
        )
        # create() keeps the first writer's document if two first requests race.
        store.create(path, _to_document(fresh))
        found = store.get(path)
        if found is None:  # pragma: no cover - only if deleted in between
            return fresh
    return _from_document(found.data, caller)


def update_preferences(
    store: DocumentStore, clock: Clock, caller: Caller, update: PreferencesUpdate
) -> UserProfile:
    """Apply the fields present in ``update`` to the caller's preferences."""
    changes = update.model_dump(exclude_unset=True)
    if "examiner_voice" in changes and changes["examiner_voice"] is None:
        del changes["examiner_voice"]  # the voice always has a value: null means "no change"
    get_or_create_profile(store, clock, caller)

    def apply(transaction: Transaction) -> UserProfile:
        current = transaction.get(profile_path(caller.uid))
        data = current.data if current else {}
        profile = _from_document(data, caller)
        merged = profile.preferences.model_dump() | changes
        updated = profile.model_copy(
            update={"preferences": Preferences(**merged), "updated_at": clock.now()}
        )
        transaction.set(profile_path(caller.uid), _to_document(updated))
        return updated

    return store.run_transaction(apply)


def _to_document(profile: UserProfile) -> dict[str, Any]:
    document = profile.model_dump(mode="python", exclude={"role"})
    return document


def _from_document(data: dict[str, Any], caller: Caller) -> UserProfile:
    # The role shown is the one in the verified token's custom claims, never a stored copy.
    return UserProfile.model_validate({**data, "uid": caller.uid, "role": caller.role})
