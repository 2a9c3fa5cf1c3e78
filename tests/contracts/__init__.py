"""Contract suites: each port's behaviour written once, run against the fake (tests/unit) and
against the real adapter on its emulator (tests/integration).

A suite is a class named ``*Contract`` (pytest does not collect it by itself); a test module
subclasses it as ``Test*`` and provides the fixtures the suite's docstring names.
"""
