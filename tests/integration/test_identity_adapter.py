"""FirebaseIdentityAdmin passes the IdentityAdmin contract on the Auth emulator."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import firebase_admin
import pytest
from firebase_admin import auth

from shared.adapters.firebase_auth import FirebaseTokenVerifier
from shared.adapters.firebase_identity import FirebaseIdentityAdmin
from tests.contracts.identity_contract import IdentityAdminContract
from tests.integration.test_auth_adapter import id_token_claims, unsigned_token

pytestmark = pytest.mark.integration


class EmulatorAccounts:
    """Users made with firebase-admin on the emulator; tokens shaped like the emulator's."""

    def __init__(self, local_stack: Any):
        self.project = local_stack.settings.google_cloud_project
        name = f"contract-identity-{self.project}"
        try:
            self.app = firebase_admin.get_app(name)
        except ValueError:
            self.app = firebase_admin.initialize_app(options={"projectId": self.project}, name=name)

    def create(self, uid: str, claims: Mapping[str, Any] | None = None) -> None:
        auth.create_user(uid=uid, app=self.app)
        if claims:
            auth.set_custom_user_claims(uid, dict(claims), app=self.app)

    def older_token(self, uid: str) -> str:
        now = time.time()
        return unsigned_token(
            id_token_claims(self.project, uid, issued_at=now - 10, expires_at=now + 3600)
        )


class TestFirebaseIdentityAdminContract(IdentityAdminContract):
    @pytest.fixture
    def identity(self, local_stack: Any) -> FirebaseIdentityAdmin:
        return FirebaseIdentityAdmin(local_stack.settings)

    @pytest.fixture
    def accounts(self, local_stack: Any) -> EmulatorAccounts:
        return EmulatorAccounts(local_stack)

    @pytest.fixture
    def verifier(self, local_stack: Any) -> FirebaseTokenVerifier:
        return FirebaseTokenVerifier(local_stack.settings)
