"""Fixtures for the machine image tests: the roles and their systemd units, parsed."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

IMAGES = Path(__file__).resolve().parents[2] / "images"
ROLES = ("backend", "transcoder", "progress")


def parse_unit(path: Path) -> configparser.RawConfigParser:
    """A unit file as sections of keys; systemd allows repeated keys, the last one wins here."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text(), source=str(path))
    return parser


def role_units(role: str) -> dict[str, configparser.RawConfigParser]:
    return {p.name: parse_unit(p) for p in sorted((IMAGES / role).glob("*.service"))}


@pytest.fixture(scope="session")
def units() -> dict[str, dict[str, configparser.RawConfigParser]]:
    """Every role's units by file name."""
    return {role: role_units(role) for role in ROLES}
