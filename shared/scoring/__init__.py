"""Scoring a finished mock test in two phases: a fast summary from the deterministic analyzers
(phase 1, seconds), then a deep analysis with the language-model judge (phase 2)."""
