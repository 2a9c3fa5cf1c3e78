"""Every integration test runs against the one local stack of the run (see tests/conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from devstack.stack import Stack


@pytest.fixture(autouse=True)
def _local_stack(local_stack: Stack) -> Stack:
    # Requesting it here starts it (once per session) before the first integration test, and a
    # stack that cannot start fails each of them with the reason.
    from devstack.config import StackError

    try:
        local_stack.assert_running()
    except StackError as error:
        # Name the emulator that crashed instead of letting the test time out against it.
        pytest.fail(str(error), pytrace=False)
    return local_stack
