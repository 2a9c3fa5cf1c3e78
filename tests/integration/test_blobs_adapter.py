"""CloudStorageBlobs on gcp-storage-emulator: the BlobStore contract, signing, failures."""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google.auth
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.auth.credentials import Credentials as BaseCredentials
from google.cloud.storage import Client

from shared import errors
from shared.adapters.gcs_blobs import CloudStorageBlobs
from shared.config import Settings
from tests.contracts.blobs_contract import BlobStoreContract, OpenUrl

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gcs_blobs(local_stack: Any) -> CloudStorageBlobs:
    return CloudStorageBlobs(local_stack.settings)


@pytest.fixture(scope="module")
def contract_bucket(local_stack: Any) -> Iterator[str]:
    client = Client(
        project=local_stack.settings.google_cloud_project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": local_stack.settings.storage_emulator_host},
    )
    name = f"contract-{uuid.uuid4().hex[:12]}"
    bucket = client.create_bucket(name)
    yield name
    bucket.delete(force=True)


class TestCloudStorageBlobsContract(BlobStoreContract):
    @pytest.fixture
    def blobs(self, gcs_blobs: CloudStorageBlobs) -> CloudStorageBlobs:
        return gcs_blobs

    @pytest.fixture
    def bucket(self, contract_bucket: str) -> str:
        return contract_bucket

    @pytest.fixture
    def open_url(self) -> OpenUrl:
        def open_(
            url: str, method: str, data: bytes | None, ctype: str | None
        ) -> tuple[int, bytes]:
            headers = {"Content-Type": ctype} if ctype else {}
            response = requests.request(method, url, data=data, headers=headers, timeout=10)
            return response.status_code, response.content

        return open_


def test_signed_urls_are_v4_on_the_emulator(
    gcs_blobs: CloudStorageBlobs, contract_bucket: str, local_stack: Any
) -> None:
    url = gcs_blobs.signed_url(contract_bucket, "a/b.pdf", expires_seconds=300)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == local_stack.settings.storage_emulator_host
    assert parts.path == f"/{contract_bucket}/a/b.pdf"
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["300"]
    assert query["X-Goog-Credential"][0].startswith("local-signer@")
    # The throwaway key is made once and reused.
    signer = gcs_blobs._local_signer
    gcs_blobs.signed_url(contract_bucket, "a/c.pdf")
    assert signer is not None
    assert gcs_blobs._local_signer is signer


class _ComputeLikeCredentials(BaseCredentials):
    """What Cloud Run gives a function: a token and an email, no private key."""

    service_account_email = "coach-fn@coach-prod.iam.gserviceaccount.com"

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def refresh(self, request: Any) -> None:
        self.token = "access-token-123"


def test_production_signs_through_iam_sign_blob(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = _ComputeLikeCredentials()
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (credentials, "coach-prod"))
    calls: list[dict[str, Any]] = []

    class FakeResponse:
        status = 200
        data = json.dumps(
            {"keyId": "k1", "signedBlob": base64.b64encode(b"signature").decode()}
        ).encode()

    class FakeRequest:
        def __call__(self, url: str, method: str, body: str, headers: dict[str, str]) -> Any:
            calls.append({"url": url, "headers": headers, "body": json.loads(body)})
            return FakeResponse()

    import google.cloud.storage._signing as signing

    monkeypatch.setattr(signing.requests, "Request", FakeRequest)
    blobs = CloudStorageBlobs(Settings(google_cloud_project="coach-prod"))
    url = blobs.signed_url("coach-prod-reports", "u1/s1.pdf", expires_seconds=600)
    (call,) = calls
    assert call["url"].startswith(
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        "coach-fn@coach-prod.iam.gserviceaccount.com:signBlob"
    )
    assert call["headers"]["Authorization"] == "Bearer access-token-123"
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://storage.googleapis.com/coach-prod-reports/u1/s1.pdf?")
    assert query["X-Goog-Credential"][0].startswith("coach-fn@coach-prod.iam.gserviceaccount.com/")
    assert query["X-Goog-Signature"] == [b"signature".hex()]


def test_a_storage_that_does_not_answer_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    blobs = CloudStorageBlobs(
        Settings(storage_emulator_host=dead), timeout_seconds=0.5, retry_seconds=1.0
    )
    with pytest.raises(errors.DependencyUnavailable) as raised:
        blobs.check("speaking-coach-audio", timeout_seconds=1.0)
    assert raised.value.details["dependency"] == "cloud_storage"
    with pytest.raises(errors.DependencyUnavailable):
        blobs.get("speaking-coach-audio", "a")
    with pytest.raises(errors.DependencyUnavailable):
        blobs.put("speaking-coach-audio", "a", b"x", content_type="text/plain")
