"""Shared by every test: the markers, and the one local stack of a pytest run.

``local_stack`` is session-scoped and lives here so that integration and e2e tests share a
single start per run. It runs the same ``devstack.Stack`` as ``make run``, on free ports
with a throwaway data directory, and exports the emulator variables into ``os.environ`` so
real client libraries in the tests talk to the emulators. Tests under tests/integration and
tests/e2e get it automatically (their conftest.py); unit tests must never start it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from devstack.stack import Stack

TESTS = Path(__file__).resolve().parent
EVENTS_FIXTURE = TESTS / "integration" / "fixtures" / "events_main.py"
# The fixture CloudEvent function and its topic, mounted in every test stack.
FIXTURE_EVENT_FUNCTION = "record_event"
FIXTURE_TOPIC = "devstack-test-events"

MARKERS = {
    "integration": "needs the local emulator stack (started once per run)",
    "e2e": "drives the whole local stack over HTTP",
    "slow": "builds virtualenvs or starts processes",
}
_STACK_KINDS = ("integration", "e2e")
_STARTED_IN = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def _kind(item: pytest.Item) -> str:
    """unit, integration or e2e: the folder under tests/ the test lives in."""
    try:
        return item.path.relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder decides: `pytest -m "not integration and not e2e"` runs what needs no stack.
    for item in items:
        kind = _kind(item)
        if kind in _STACK_KINDS:
            item.add_marker(kind)


def pytest_runtest_setup(item: pytest.Item) -> None:
    fixtures = getattr(item, "fixturenames", ())
    if _kind(item) == "unit" and "local_stack" in fixtures:
        pytest.fail(
            "unit tests run on fakes and must not start the local stack; "
            "move this test under tests/integration",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def local_stack(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Stack]:
    """The running local stack: ``.env``, ``.settings``, ``.base_url``, ``.auth_url``,
    ``.mint_token(uid, claims)``, ``.stop_service(name)`` and ``.start_service(name)``."""
    from devstack.config import ExtraEventFunction, StackConfig, StackError, free_ports
    from devstack.stack import Stack

    data_dir = tmp_path_factory.mktemp("local-stack")
    try:
        stack = Stack(
            StackConfig(
                data_dir=data_dir,
                ports=free_ports(),
                persist=False,
                extra_events=(
                    ExtraEventFunction(
                        FIXTURE_EVENT_FUNCTION,
                        EVENTS_FIXTURE,
                        FIXTURE_EVENT_FUNCTION,
                        FIXTURE_TOPIC,
                    ),
                ),
            )
        )
        stack.start()
    except StackError as error:
        # Fail, never skip: a missing emulator must turn CI red, not silently green.
        pytest.fail(
            f"The local stack could not start (logs: {data_dir / 'logs'}):\n{error}",
            pytrace=False,
        )
    pytestconfig.stash[_STARTED_IN] = _timings(stack)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in stack.env.items():
            patch.setenv(name, value)
        try:
            yield stack
        finally:
            stack.stop()


def _timings(stack: Stack) -> str:
    each = ", ".join(
        f"{name} {service.ready_after:.1f} s"
        for name, service in stack.services.items()
        if service.ready_after is not None
    )
    return f"local stack started in {stack.started_in_seconds or 0:.1f} s ({each})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    started = terminalreporter.config.stash.get(_STARTED_IN, None)
    if started:
        terminalreporter.write_line(started)
