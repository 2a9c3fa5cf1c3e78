"""In-memory fakes of the ports, with the same semantics as the real adapters.

Each fake passes the contract suite in tests/contracts/ that the real adapter passes on its
emulator, so a unit test written against a fake tells the truth about production.
"""

from tests.fakes.auth import FakeTokenVerifier
from tests.fakes.blobs import FakeBlobs
from tests.fakes.clock import FixedClock
from tests.fakes.events import FakePublisher, PublishedMessage
from tests.fakes.identity import FakeIdentityAdmin
from tests.fakes.store import FakeStore

__all__ = [
    "FakeBlobs",
    "FakeIdentityAdmin",
    "FakePublisher",
    "FakeStore",
    "FakeTokenVerifier",
    "FixedClock",
    "PublishedMessage",
]
