"""FakeBlobs: an in-memory ports.BlobStore with signed URLs a test can "open"."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

from shared import errors
from shared.ports import Clock

FAKE_HOST = "https://fake-storage.invalid"
MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


class SignedUrlRejected(Exception):
    """What Cloud Storage would answer to a bad signed-URL request (403 or 404)."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class StoredBlob:
    data: bytes
    content_type: str
    generation: int


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeBlobs:
    """In-memory buckets.

    ``buckets``: the buckets that exist (None: any valid bucket name exists). Writing to or
    listing another raises DependencyUnavailable, reading from it NotFound, like the real
    adapter. ``clock`` decides when signed URLs expire. Set ``fail_with`` to make every call
    raise it.
    """

    def __init__(self, *, buckets: Iterable[str] | None = None, clock: Clock | None = None):
        self.buckets = None if buckets is None else set(buckets)
        self.clock: Clock = clock or _SystemClock()
        self.fail_with: BaseException | None = None
        self._objects: dict[tuple[str, str], StoredBlob] = {}
        self._generation = 0
        self._key = secrets.token_bytes(32)
        self._lock = threading.RLock()

    # --- helpers for tests ---------------------------------------------------------------
    def stored(self, bucket: str, name: str) -> StoredBlob | None:
        with self._lock:
            return self._objects.get((bucket, name))

    def open_signed_url(
        self,
        url: str,
        *,
        method: Literal["GET", "PUT"] = "GET",
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Do what Cloud Storage does when a browser sends ``method`` to ``url``.

        Returns the object (GET) or b"" (PUT); raises SignedUrlRejected(403) for a tampered,
        expired or misused URL and SignedUrlRejected(404) for a missing object.
        """
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        bucket, _, quoted_name = parts.path.lstrip("/").partition("/")
        name = unquote(quoted_name)
        expected = self._signature(
            query.get("X-Fake-Method", ""),
            bucket,
            name,
            query.get("X-Fake-Expires", ""),
            query.get("X-Fake-Content-Type", ""),
        )
        if f"{parts.scheme}://{parts.netloc}" != FAKE_HOST or not hmac.compare_digest(
            expected, query.get("X-Fake-Signature", "")
        ):
            raise SignedUrlRejected(403, "signature does not match")
        if query["X-Fake-Method"] != method:
            raise SignedUrlRejected(403, "signed for another method")
        if int(query["X-Fake-Expires"]) <= self.clock.now().timestamp():
            raise SignedUrlRejected(403, "expired")
        if method == "PUT":
            signed_type = query.get("X-Fake-Content-Type", "")
            if signed_type and content_type != signed_type:
                raise SignedUrlRejected(403, "content type differs from the signed one")
            self._store(bucket, name, data or b"", content_type or "application/octet-stream")
            return b""
        stored = self.stored(bucket, name)
        if stored is None:
            raise SignedUrlRejected(404, "no such object")
        return stored.data

    def _signature(
        self, method: str, bucket: str, name: str, expires: str, content_type: str
    ) -> str:
        message = "\n".join((method, bucket, name, expires, content_type)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    # --- checks shared with the real adapter -----------------------------------------------
    @staticmethod
    def _validate(bucket: str, name: str) -> None:
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"{bucket!r} is not a bucket name")
        if not name or len(name.encode()) > 1024 or name in (".", "..") or "\n" in name:
            raise ValueError("an object name is 1 to 1024 bytes, without newlines")

    def _available(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def _bucket_exists(self, bucket: str) -> bool:
        return self.buckets is None or bucket in self.buckets

    def _missing_bucket(self, operation: str) -> errors.DependencyUnavailable:
        return errors.DependencyUnavailable(
            details={
                "dependency": "cloud_storage",
                "operation": operation,
                "reason": "bucket_not_found",
            }
        )

    def _store(self, bucket: str, name: str, data: bytes, content_type: str) -> None:
        with self._lock:
            self._generation += 1
            self._objects[(bucket, name)] = StoredBlob(bytes(data), content_type, self._generation)

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
        self._validate(bucket, name)
        self._available()
        if not self._bucket_exists(bucket):
            raise self._missing_bucket("put")
        with self._lock:
            if if_absent and (bucket, name) in self._objects:
                return False
            self._store(bucket, name, data, content_type)
        return True

    def get(self, bucket: str, name: str) -> bytes:
        self._validate(bucket, name)
        self._available()
        stored = self.stored(bucket, name)
        if stored is None:
            raise errors.NotFound("The file was not found.")
        return stored.data

    def exists(self, bucket: str, name: str) -> bool:
        self._validate(bucket, name)
        self._available()
        return self.stored(bucket, name) is not None

    def delete(self, bucket: str, name: str) -> None:
        self._validate(bucket, name)
        self._available()
        with self._lock:
            self._objects.pop((bucket, name), None)

    def list_names(self, bucket: str, prefix: str) -> list[str]:
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"{bucket!r} is not a bucket name")
        self._available()
        if not self._bucket_exists(bucket):
            raise self._missing_bucket("list")
        with self._lock:
            return sorted(
                name for (b, name) in self._objects if b == bucket and name.startswith(prefix)
            )

    def signed_url(
        self,
        bucket: str,
        name: str,
        *,
        method: Literal["GET", "PUT"] = "GET",
        expires_seconds: int = 900,
        content_type: str | None = None,
    ) -> str:
        """``https://fake-storage.invalid/BUCKET/NAME?X-Fake-Expires=...``; open it with
        ``open_signed_url``."""
        if not 1 <= expires_seconds <= MAX_SIGNED_URL_SECONDS:
            raise ValueError(f"a signed URL lives 1 to {MAX_SIGNED_URL_SECONDS} seconds")
        if method not in ("GET", "PUT"):
            raise ValueError("a signed URL is for GET or PUT")
        self._validate(bucket, name)
        self._available()
        expires = str(int((self.clock.now() + timedelta(seconds=expires_seconds)).timestamp()))
        signed_type = content_type or ""
        signature = self._signature(method, bucket, name, expires, signed_type)
        query = f"X-Fake-Method={method}&X-Fake-Expires={expires}"
        if signed_type:
            query += f"&X-Fake-Content-Type={quote(signed_type, safe='')}"
        return f"{FAKE_HOST}/{bucket}/{quote(name, safe='/~')}?{query}&X-Fake-Signature={signature}"

    def check(self, bucket: str, timeout_seconds: float) -> None:
        self._available()
        if not self._bucket_exists(bucket):
            raise errors.DependencyUnavailable(
                details={
                    "dependency": "cloud_storage",
                    "operation": "check",
                    "reason": "bucket_not_found",
                }
            )
