"""The local stack as one object: start every service, wait for it, provision, stop.

Used by ``python -m devstack`` (``make run``) and by the ``local_stack`` test fixture::

    stack = Stack(StackConfig(data_dir=..., ports=free_ports(), persist=False))
    stack.start()          # raises StackError naming what failed, with its log's tail
    stack.mint_token("u1", {"role": "teacher"})
    stack.stop_service("firestore"); stack.start_service("firestore")
    stack.stop()
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from devstack import auth, prereqs, provision, state
from devstack.config import SERVICES, StackConfig, StackError, port_in_use
from devstack.emulators import Auth, Firestore, Functions, PubSub, Service, Storage
from devstack.routing import event_path
from functions.catalog import EVENT_FUNCTIONS, HTTP_FUNCTIONS
from shared.config import ConfigurationError, Settings, load_settings

Notify = Callable[[str], None]

# Stop the functions first (no new work), Pub/Sub next (no more pushes), then the stores.
_STOP_ORDER = ("functions", "pubsub", "firestore", "auth", "storage")
_POLL_SECONDS = 0.1


def _quiet(_: str) -> None:
    pass


class Stack:
    """The services of one local stack (see the module docstring)."""

    def __init__(self, config: StackConfig, notify: Notify = _quiet):
        self.config = config
        self.notify = notify
        try:
            self.settings: Settings = load_settings({**os.environ, **self.env})
        except ConfigurationError as error:
            raise StackError(str(error)) from None
        self.events = self._event_functions()
        self.services: dict[str, Service] = {
            name: self._make_service(name) for name in SERVICES if name in config.services
        }
        self.started_in_seconds: float | None = None

    # --- What clients need ---------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """The variables that point client libraries (and shared.config) at this stack."""
        return self.config.emulator_env()

    @property
    def base_url(self) -> str:
        return self.config.url("functions")

    @property
    def auth_url(self) -> str:
        return self.config.url("auth")

    def url(self, service: str) -> str:
        return self.config.url(service)

    def mint_token(self, uid: str, claims: Mapping[str, Any] | None = None) -> str:
        """A real ID token from the Auth emulator for ``uid`` with ``claims``."""
        return auth.mint_token(self.auth_url, self.config.project, uid, claims)

    # --- Start and stop ------------------------------------------------------------------
    def start(self) -> None:
        """Start every service, wait until each answers, provision; undo everything on error."""
        missing = prereqs.check(self.config.repo_root, self.services)
        if missing:
            raise StackError(prereqs.describe(missing))
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        state.clean_leftovers(self.config.data_dir, self.notify)
        self._check_ports_free(self.services.values())
        began = time.monotonic()
        try:
            for service in self.services.values():
                self.notify(f"Starting {service.label} on {service.url}")
                service.start()
            self._wait_ready(self.services.values())
            self._provision(self.services)
            self._write_state()
        except BaseException:  # also Ctrl-C while starting: never leave children behind
            self.stop()
            raise
        self.started_in_seconds = time.monotonic() - began
        self.notify(f"Local stack ready in {self.started_in_seconds:.1f} s")

    def stop(self) -> None:
        """Stop every service (saving data first when persistent); safe to call twice."""
        problems = []
        for name in _STOP_ORDER:
            service = self.services.get(name)
            if service is not None and service.process is not None:
                self.notify(f"Stopping {service.label}")
                try:
                    service.stop()
                except OSError as error:  # keep going: the other services must stop too
                    problems.append(f"{service.label}: {error}")
        state.remove_state(self.config.data_dir)
        if problems:
            raise StackError("could not stop cleanly: " + "; ".join(problems))

    def stop_service(self, name: str) -> None:
        self._service(name).stop()
        self._write_state()

    def start_service(self, name: str) -> None:
        """Start a stopped service again on the same port and provision it anew."""
        service = self._service(name)
        if service.process is not None and service.process.running():
            return
        self._check_ports_free([service])
        service.start()
        self._wait_ready([service])
        self._provision([name])
        self._write_state()

    def failed_services(self) -> list[str]:
        """Services whose process ended while the stack was meant to run."""
        return [
            name
            for name, service in self.services.items()
            if service.process is not None and not service.process.running()
        ]

    def assert_running(self) -> None:
        """Raise StackError naming every service that died, with the end of its log."""
        problems = []
        for service in self.services.values():
            process = service.process
            if process is not None and not process.running():
                problems.append(
                    f"{service.label} stopped unexpectedly (exit code {process.exit_code()}). "
                    f"Last lines of {process.log_path}:\n{process.log_tail()}"
                )
        if problems:
            raise StackError("\n\n".join(problems))

    def log_tail(self, name: str, lines: int = 25) -> str:
        return self._service(name).log_tail(lines)

    # --- Internals -----------------------------------------------------------------------
    def _service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise StackError(
                f"{name} is not part of this stack ({', '.join(self.services)})"
            ) from None

    def _make_service(self, name: str) -> Service:
        if name == "functions":
            return Functions(self.config, self.notify, self._functions_spec())
        kinds: dict[str, type[Service]] = {
            "firestore": Firestore,
            "pubsub": PubSub,
            "storage": Storage,
            "auth": Auth,
        }
        return kinds[name](self.config, self.notify)

    def _event_functions(self) -> list[dict[str, str]]:
        """Every event function (catalog, then extras) with its topic and push path."""
        main = str(self.config.repo_root / "functions" / "main.py")
        events = []
        for function in EVENT_FUNCTIONS:
            if function.topic_setting not in Settings.model_fields:
                raise StackError(
                    f"functions/catalog.py: {function.name}.topic_setting "
                    f"{function.topic_setting!r} is not a field of shared.config.Settings"
                )
            topic = str(getattr(self.settings, function.topic_setting))
            events.append(
                {"name": function.name, "source": main, "target": function.name, "topic": topic}
            )
        for extra in self.config.extra_events:
            events.append(
                {
                    "name": extra.name,
                    "source": str(extra.source),
                    "target": extra.target,
                    "topic": extra.topic,
                }
            )
        for event in events:
            event["path"] = event_path(event["name"], self.config.project, event["topic"])
        return events

    def _functions_spec(self) -> dict[str, object]:
        main = str(self.config.repo_root / "functions" / "main.py")
        return {
            "http": [
                {"name": f.name, "source": main, "paths": list(f.paths)} for f in HTTP_FUNCTIONS
            ],
            "events": self.events,
        }

    def _check_ports_free(self, services: Iterable[Service]) -> None:
        busy = []
        for service in services:
            names = [service.name] + (["hub", "logging"] if service.name == "auth" else [])
            busy += [
                f"{name} port {self.config.port(name)}"
                for name in names
                if port_in_use(self.config.host, self.config.port(name))
            ]
        if busy:
            raise StackError(
                f"already in use on {self.config.host}: {', '.join(busy)}. Stop whatever listens "
                "there (ss -ltnp shows it), change the ports in firebase.json, or run "
                "`python -m devstack --free-ports`."
            )

    def _wait_ready(self, services: Iterable[Service]) -> None:
        pending = {service.name: service for service in services}
        deadline = time.monotonic() + self.config.ready_timeout_seconds
        while pending:
            for name, service in list(pending.items()):
                process = service.process
                if process is None or not process.running():
                    code = process.exit_code() if process else None
                    raise StackError(
                        f"{service.label} exited (code {code}) before it was ready. "
                        f"Last lines of {self._log(service)}:\n{service.log_tail()}"
                    )
                if service.is_ready():
                    service.ready_after = time.monotonic() - service.started_at
                    self.notify(f"  {service.label} ready after {service.ready_after:.1f} s")
                    del pending[name]
            if pending and time.monotonic() > deadline:
                details = "\n\n".join(
                    f"{service.label} is not answering on {service.url}. "
                    f"Last lines of {self._log(service)}:\n{service.log_tail()}"
                    for service in pending.values()
                )
                raise StackError(
                    f"not ready after {self.config.ready_timeout_seconds:.0f} s: "
                    f"{', '.join(pending)}\n{details}"
                )
            if pending:
                time.sleep(_POLL_SECONDS)

    def _log(self, service: Service) -> Path:
        return self.config.logs_dir / f"{service.name}.log"

    def _provision(self, names: Iterable[str]) -> None:
        names = set(names)
        plan = provision.make_plan(
            self.settings,
            [(e["name"], e["topic"], self.base_url + e["path"]) for e in self.events],
        )
        if "storage" in names:
            provision.provision_storage(self.config, plan)
        if "pubsub" in names:
            provision.provision_pubsub(self.config, plan)

    def _write_state(self) -> None:
        services = {
            name: {"pid": service.process.pid, "url": service.url, "port": service.port}
            for name, service in self.services.items()
            if service.process is not None
        }
        ports = {
            name: port
            for name, port in self.config.ports.items()
            if name in self.services or (name in ("hub", "logging") and "auth" in self.services)
        }
        state.write_state(self.config.data_dir, services, ports, self.env)

    def table(self) -> str:
        """What runs where, for a human."""
        rows = [("service", "URL", "clients use")]
        for service in self.services.values():
            rows.append((service.name, service.url, service.env_var()))
        width = [max(len(row[i]) for row in rows) for i in range(2)]
        lines = [f"  {a:<{width[0]}}  {b:<{width[1]}}  {c}".rstrip() for a, b, c in rows]
        lines.append(f"  GOOGLE_CLOUD_PROJECT={self.config.project}")
        if "functions" in self.services:
            lines.append("")
            lines.append("  HTTP functions (an /api prefix is accepted too):")
            for function in HTTP_FUNCTIONS:
                lines.append(f"    {', '.join(function.paths):<28} -> {function.name}")
            for event in self.events:
                lines.append(
                    f"    topic {event['topic']:<22} -> {event['name']} (push to {event['path']})"
                )
        lines.append("")
        lines.append(f"  data and logs: {self.config.data_dir} (logs/<service>.log)")
        return "\n".join(lines)
