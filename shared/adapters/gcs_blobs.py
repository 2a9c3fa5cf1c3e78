"""BlobStore on Cloud Storage, or on gcp-storage-emulator locally.

The client is created on first use and reused. With ``STORAGE_EMULATOR_HOST`` in Settings
the client talks to that endpoint with anonymous credentials, and signed URLs are signed
with a throwaway RSA key made at first use (the emulator does not check signatures). In
production the function's own service account signs through IAM ``signBlob``: it needs
``roles/iam.serviceAccountTokenCreator`` on itself.

Errors: a Storage that does not answer raises ``DependencyUnavailable``; ``get`` of a missing
object raises ``NotFound``; a missing bucket on a write or a listing raises
``DependencyUnavailable`` (the deployment is incomplete, and a retry after it is fixed works).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Literal, NoReturn

import google.auth
import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth import exceptions as auth_exc
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import Request as AuthRequest
from google.cloud.storage import Blob, Client
from google.cloud.storage.retry import DEFAULT_RETRY
from google.oauth2 import service_account

from shared import errors
from shared.adapters.failures import dependency_unavailable
from shared.config import Settings

DEPENDENCY = "cloud_storage"
MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600  # the V4 signing limit
_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.DeadlineExceeded,
    gexc.RetryError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    auth_exc.TransportError,
)


def validate_object(bucket: str, name: str) -> None:
    """ValueError unless ``bucket`` and ``name`` are a valid bucket and object name."""
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(f"{bucket!r} is not a bucket name")
    if not name or len(name.encode()) > 1024 or name in (".", "..") or "\n" in name:
        raise ValueError("an object name is 1 to 1024 bytes, without newlines")


def validate_expiry(expires_seconds: int) -> None:
    if not 1 <= expires_seconds <= MAX_SIGNED_URL_SECONDS:
        raise ValueError(f"a signed URL lives 1 to {MAX_SIGNED_URL_SECONDS} seconds")


class CloudStorageBlobs:
    """ports.BlobStore on Cloud Storage.

    ``timeout_seconds`` bounds each HTTP request; transient failures (429, 5xx, connection
    errors) are retried within ``retry_seconds``.
    """

    def __init__(
        self, settings: Settings, *, timeout_seconds: float = 30.0, retry_seconds: float = 60.0
    ):
        self._settings = settings
        self._timeout = timeout_seconds
        self._retry: Retry = DEFAULT_RETRY.with_timeout(retry_seconds)
        self._client: Client | None = None
        self._credentials: Credentials | None = None
        self._local_signer: service_account.Credentials | None = None
        self._lock = threading.Lock()

    @property
    def emulated(self) -> bool:
        return self._settings.storage_emulator_host is not None

    # --- client ----------------------------------------------------------------------------
    def _storage(self) -> Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> Client:
        project = self._settings.google_cloud_project
        if self.emulated:
            return Client(
                project=project,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": self._settings.storage_emulator_host},
            )
        credentials, _ = google.auth.default(scopes=_SCOPES)
        self._credentials = credentials
        return Client(project=project, credentials=credentials)

    def _blob(self, bucket: str, name: str) -> Blob:
        validate_object(bucket, name)
        return self._storage().bucket(bucket).blob(name)

    @contextmanager
    def _answering(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as error:
            self._unavailable(operation, error)

    def _unavailable(self, operation: str, error: BaseException, reason: str = "") -> NoReturn:
        dependency_unavailable(DEPENDENCY, operation, error, reason)

    # --- BlobStore -------------------------------------------------------------------------
    def put(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        content_type: str,
        if_absent: bool = False,
    ) -> bool:
        blob = self._blob(bucket, name)
        with self._answering("put"):
            # gcp-storage-emulator ignores ifGenerationMatch: check first (locally only, racy).
            if if_absent and self.emulated and blob.exists(timeout=self._timeout):
                return False
            try:
                blob.upload_from_string(
                    data,
                    content_type=content_type,
                    if_generation_match=0 if if_absent else None,
                    timeout=self._timeout,
                    retry=self._retry,
                )
            except gexc.PreconditionFailed:
                return False
            except gexc.NotFound as error:
                self._unavailable("put", error, reason="bucket_not_found")
        return True

    def get(self, bucket: str, name: str) -> bytes:
        blob = self._blob(bucket, name)
        with self._answering("get"):
            try:
                data: bytes = blob.download_as_bytes(timeout=self._timeout, retry=self._retry)
            except gexc.NotFound as error:
                raise errors.NotFound("The file was not found.") from error
        return data

    def exists(self, bucket: str, name: str) -> bool:
        blob = self._blob(bucket, name)
        with self._answering("exists"):
            found: bool = blob.exists(timeout=self._timeout, retry=self._retry)
        return found

    def delete(self, bucket: str, name: str) -> None:
        blob = self._blob(bucket, name)
        with self._answering("delete"):
            try:
                blob.delete(timeout=self._timeout, retry=self._retry)
            except gexc.NotFound:
                return

    def list_names(self, bucket: str, prefix: str) -> list[str]:
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"{bucket!r} is not a bucket name")
        client = self._storage()
        with self._answering("list"):
            try:
                listing = client.list_blobs(
                    bucket, prefix=prefix or None, timeout=self._timeout, retry=self._retry
                )
                return sorted(blob.name for blob in listing)
            except gexc.NotFound as error:
                self._unavailable("list", error, reason="bucket_not_found")

    def signed_url(
        self,
        bucket: str,
        name: str,
        *,
        method: Literal["GET", "PUT"] = "GET",
        expires_seconds: int = 900,
        content_type: str | None = None,
    ) -> str:
        """A V4 signed URL; a PUT URL binds ``content_type``, which the uploader must send."""
        validate_expiry(expires_seconds)
        if method not in ("GET", "PUT"):
            raise ValueError("a signed URL is for GET or PUT")
        blob = self._blob(bucket, name)
        signing = self._signing_arguments()
        with self._answering("sign"):
            url: str = blob.generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=expires_seconds),
                method=method,
                content_type=content_type,
                **signing,
            )
        return url

    def _signing_arguments(self) -> dict[str, Any]:
        if self.emulated:
            return {"credentials": self._local_signing_credentials()}
        self._storage()
        credentials = self._credentials
        if isinstance(credentials, service_account.Credentials):
            return {"credentials": credentials}  # a key file (developer machine): sign locally
        # Compute/Cloud Run credentials hold no private key: IAM signBlob signs with the
        # service account, authorised by its own access token.
        if credentials is None:
            raise RuntimeError("no Google credentials to sign a URL with")
        with self._answering("sign"), self._lock:
            if not credentials.valid:
                credentials.refresh(AuthRequest())  # type: ignore[no-untyped-call]
        email = getattr(credentials, "service_account_email", None) or getattr(
            credentials, "signer_email", None
        )
        if not email:
            raise RuntimeError("the credentials name no service account to sign a URL with")
        return {"service_account_email": email, "access_token": credentials.token}

    def _local_signing_credentials(self) -> service_account.Credentials:
        if self._local_signer is None:
            with self._lock:
                if self._local_signer is None:
                    self._local_signer = _throwaway_signer(self._settings.google_cloud_project)
        return self._local_signer

    def check(self, bucket: str, timeout_seconds: float) -> None:
        """List at most one object (needs storage.objects.list), without retries."""
        client = self._storage()
        with self._answering("check"):
            try:
                listing = client.list_blobs(
                    bucket, max_results=1, timeout=timeout_seconds, retry=None
                )
                list(listing)
            except (gexc.NotFound, gexc.Forbidden) as error:
                reason = "bucket_not_found" if isinstance(error, gexc.NotFound) else "forbidden"
                self._unavailable("check", error, reason=reason)


def _throwaway_signer(project: str) -> service_account.Credentials:
    """Service-account credentials around a fresh RSA key: enough to sign for the emulator."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "local-emulator",
        "private_key": pem,
        "client_email": f"local-signer@{project}.iam.gserviceaccount.com",
        "token_uri": "http://127.0.0.1:9/token",  # never called: signing needs no token
    }
    return service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call,no-any-return]
