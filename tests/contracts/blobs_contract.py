"""BlobStore contract: what every blob store (FakeBlobs, CloudStorageBlobs) must do.

Subclass ``BlobStoreContract`` as ``Test...`` and provide fixtures:
- ``blobs``: the BlobStore under test;
- ``bucket``: the name of an existing bucket (objects are named under a fresh prefix);
- ``open_url``: ``(url, method, data, content_type) -> (status, body)``, what a browser
  gets when it sends ``method`` to a signed URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from shared import errors
from shared.ports import BlobStore

OpenUrl = Callable[[str, str, bytes | None, str | None], tuple[int, bytes]]
AUDIO = bytes(range(256)) * 4


class BlobStoreContract:
    @pytest.fixture
    def prefix(self) -> str:
        return f"contract/{uuid.uuid4().hex[:12]}/"

    def test_put_then_get(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        assert blobs.put(bucket, prefix + "a.webm", AUDIO, content_type="audio/webm") is True
        assert blobs.get(bucket, prefix + "a.webm") == AUDIO
        assert blobs.exists(bucket, prefix + "a.webm") is True

    def test_an_empty_object(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        blobs.put(bucket, prefix + "empty", b"", content_type="application/octet-stream")
        assert blobs.get(bucket, prefix + "empty") == b""

    def test_a_large_object_round_trips(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        data = uuid.uuid4().bytes * (600 * 1024 // 16 * 16)  # 9.4 MB: a resumable upload
        blobs.put(bucket, prefix + "large.webm", data, content_type="audio/webm")
        assert blobs.get(bucket, prefix + "large.webm") == data

    def test_put_overwrites(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        blobs.put(bucket, prefix + "a", b"first", content_type="text/plain")
        assert blobs.put(bucket, prefix + "a", b"second", content_type="text/plain") is True
        assert blobs.get(bucket, prefix + "a") == b"second"

    def test_if_absent_keeps_the_first_object(
        self, blobs: BlobStore, bucket: str, prefix: str
    ) -> None:
        name = prefix + "turn-1.webm"
        assert blobs.put(bucket, name, b"first", content_type="audio/webm", if_absent=True)
        assert not blobs.put(bucket, name, b"second", content_type="audio/webm", if_absent=True)
        assert blobs.get(bucket, name) == b"first"

    def test_a_missing_object(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        with pytest.raises(errors.NotFound):
            blobs.get(bucket, prefix + "missing")
        assert blobs.exists(bucket, prefix + "missing") is False

    def test_delete_is_idempotent(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        blobs.put(bucket, prefix + "a", b"x", content_type="text/plain")
        blobs.delete(bucket, prefix + "a")
        assert blobs.exists(bucket, prefix + "a") is False
        with pytest.raises(errors.NotFound):
            blobs.get(bucket, prefix + "a")
        blobs.delete(bucket, prefix + "a")

    def test_list_names_by_prefix(self, blobs: BlobStore, bucket: str, prefix: str) -> None:
        for name in ("s1/t2.webm", "s1/t10.webm", "s1/sub/x", "s2/t1.webm", "s1 café/ü"):
            blobs.put(bucket, prefix + name, b"x", content_type="audio/webm")
        assert blobs.list_names(bucket, prefix + "s1/") == [
            prefix + "s1/sub/x",
            prefix + "s1/t10.webm",
            prefix + "s1/t2.webm",
        ]
        assert blobs.list_names(bucket, prefix + "s1 ") == [prefix + "s1 café/ü"]
        assert len(blobs.list_names(bucket, prefix)) == 5
        assert blobs.list_names(bucket, prefix + "nothing/") == []

    def test_a_signed_get_url_serves_the_object(
        self, blobs: BlobStore, bucket: str, prefix: str, open_url: OpenUrl
    ) -> None:
        name = prefix + "report of u1.pdf"
        blobs.put(bucket, name, b"%PDF-1.7 fake", content_type="application/pdf")
        url = blobs.signed_url(bucket, name, expires_seconds=300)
        assert url.startswith(("https://", "http://"))
        assert open_url(url, "GET", None, None) == (200, b"%PDF-1.7 fake")

    def test_a_signed_url_of_a_missing_object_is_404(
        self, blobs: BlobStore, bucket: str, prefix: str, open_url: OpenUrl
    ) -> None:
        url = blobs.signed_url(bucket, prefix + "missing.pdf")
        assert open_url(url, "GET", None, None)[0] == 404

    def test_a_signed_put_url_uploads(
        self, blobs: BlobStore, bucket: str, prefix: str, open_url: OpenUrl
    ) -> None:
        name = prefix + "upload.webm"
        url = blobs.signed_url(bucket, name, method="PUT", content_type="audio/webm")
        status, _ = open_url(url, "PUT", AUDIO, "audio/webm")
        assert status == 200
        assert blobs.get(bucket, name) == AUDIO

    @pytest.mark.parametrize("seconds", [0, -1, 7 * 24 * 3600 + 1])
    def test_signed_url_lifetimes_are_bounded(
        self, blobs: BlobStore, bucket: str, seconds: int
    ) -> None:
        with pytest.raises(ValueError, match="seconds"):
            blobs.signed_url(bucket, "a", expires_seconds=seconds)

    @pytest.mark.parametrize(("bucket_name", "name"), [("ok-bucket", ""), ("B!", "a")])
    def test_bad_names_are_refused(self, blobs: BlobStore, bucket_name: str, name: str) -> None:
        with pytest.raises(ValueError, match="name"):
            blobs.put(bucket_name, name, b"x", content_type="text/plain")
        with pytest.raises(ValueError, match="name"):
            blobs.get(bucket_name, name)

    def test_check(self, blobs: BlobStore, bucket: str) -> None:
        blobs.check(bucket, timeout_seconds=5)

    def test_a_missing_bucket_is_a_deployment_problem(self, blobs: BlobStore) -> None:
        missing = f"missing-{uuid.uuid4().hex[:12]}"
        with pytest.raises(errors.DependencyUnavailable) as raised:
            blobs.check(missing, timeout_seconds=5)
        assert raised.value.details["reason"] == "bucket_not_found"
        with pytest.raises(errors.DependencyUnavailable):
            blobs.put(missing, "a", b"x", content_type="text/plain")
        with pytest.raises(errors.DependencyUnavailable):
            blobs.list_names(missing, "")
        with pytest.raises(errors.NotFound):
            blobs.get(missing, "a")
        assert blobs.exists(missing, "a") is False
