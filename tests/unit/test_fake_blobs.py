"""FakeBlobs passes the BlobStore contract; its signed URLs behave like Cloud Storage's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import errors
from tests.contracts.blobs_contract import BlobStoreContract, OpenUrl
from tests.fakes import FakeBlobs, FixedClock
from tests.fakes.blobs import SignedUrlRejected

BUCKET = "speaking-coach-audio"


class TestFakeBlobsContract(BlobStoreContract):
    @pytest.fixture
    def blobs(self) -> FakeBlobs:
        return FakeBlobs(buckets=[BUCKET])

    @pytest.fixture
    def bucket(self) -> str:
        return BUCKET

    @pytest.fixture
    def open_url(self, blobs: FakeBlobs) -> OpenUrl:
        def open_(
            url: str, method: str, data: bytes | None, ctype: str | None
        ) -> tuple[int, bytes]:
            try:
                return 200, blobs.open_signed_url(
                    url,
                    method="PUT" if method == "PUT" else "GET",
                    data=data,
                    content_type=ctype,
                )
            except SignedUrlRejected as rejected:
                return rejected.status, b""

        return open_


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def blobs(clock: FixedClock) -> FakeBlobs:
    fake = FakeBlobs(buckets=[BUCKET], clock=clock)
    fake.put(BUCKET, "r.pdf", b"pdf", content_type="application/pdf")
    return fake


def test_a_signed_url_expires(blobs: FakeBlobs, clock: FixedClock) -> None:
    url = blobs.signed_url(BUCKET, "r.pdf", expires_seconds=60)
    clock.advance(seconds=59)
    assert blobs.open_signed_url(url) == b"pdf"
    clock.advance(seconds=1)
    with pytest.raises(SignedUrlRejected, match="expired"):
        blobs.open_signed_url(url)


def test_a_tampered_url_is_refused(blobs: FakeBlobs) -> None:
    blobs.put(BUCKET, "other.pdf", b"secret", content_type="application/pdf")
    url = blobs.signed_url(BUCKET, "r.pdf")
    with pytest.raises(SignedUrlRejected, match="signature"):
        blobs.open_signed_url(url.replace("r.pdf", "other.pdf"))
    later = url.replace("X-Fake-Expires=", "X-Fake-Expires=9")
    with pytest.raises(SignedUrlRejected, match="signature"):
        blobs.open_signed_url(later)
    with pytest.raises(SignedUrlRejected, match="signature"):
        FakeBlobs(buckets=[BUCKET]).open_signed_url(url)


def test_a_url_is_for_one_method_and_content_type(blobs: FakeBlobs) -> None:
    get_url = blobs.signed_url(BUCKET, "r.pdf")
    with pytest.raises(SignedUrlRejected, match="method"):
        blobs.open_signed_url(get_url, method="PUT", data=b"x")
    put_url = blobs.signed_url(BUCKET, "up.webm", method="PUT", content_type="audio/webm")
    with pytest.raises(SignedUrlRejected, match="content type"):
        blobs.open_signed_url(put_url, method="PUT", data=b"x", content_type="text/html")
    blobs.open_signed_url(put_url, method="PUT", data=b"x", content_type="audio/webm")
    stored = blobs.stored(BUCKET, "up.webm")
    assert stored is not None
    assert (stored.data, stored.content_type) == (b"x", "audio/webm")


def test_the_url_shows_bucket_name_and_expiry(blobs: FakeBlobs, clock: FixedClock) -> None:
    url = blobs.signed_url(BUCKET, "dir/a b.pdf", expires_seconds=900)
    expires = int((clock.now() + timedelta(seconds=900)).timestamp())
    assert url.startswith(f"https://fake-storage.invalid/{BUCKET}/dir/a%20b.pdf?")
    assert f"X-Fake-Expires={expires}" in url


def test_fail_with_makes_calls_raise(blobs: FakeBlobs) -> None:
    blobs.fail_with = errors.DependencyUnavailable()
    with pytest.raises(errors.DependencyUnavailable):
        blobs.get(BUCKET, "r.pdf")
    with pytest.raises(errors.DependencyUnavailable):
        blobs.check(BUCKET, 1)


def test_stored_bytes_are_a_copy(blobs: FakeBlobs) -> None:
    data = bytearray(b"abc")
    blobs.put(BUCKET, "a", data, content_type="text/plain")  # type: ignore[arg-type]
    data[0] = 0
    assert blobs.get(BUCKET, "a") == b"abc"
