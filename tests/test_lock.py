"""requirements.lock is what every machine installs (`make install`): it must cover pyproject.toml,
pin every package with hashes, and be what this environment actually runs."""
from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)")


def locked() -> dict[str, tuple[Version, list[str]]]:
    pins: dict[str, tuple[Version, list[str]]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        m = PIN.match(line)
        if m:
            name = canonicalize_name(m.group(1))
            assert name not in pins, f"{name} pinned twice"
            pins[name] = (Version(m.group(2)), [])
        elif line.strip().startswith("--hash=sha256:") and name:
            pins[name][1].append(line.strip())
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = locked()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name][0], prereleases=True), (str(req), pins[name][0])


def test_every_pin_carries_hashes() -> None:
    pins = locked()
    assert len(pins) > 50
    for name, (_version, hashes) in pins.items():
        assert hashes, f"{name} has no --hash in requirements.lock"


def test_the_environment_runs_the_locked_versions() -> None:
    mismatched = []
    for name, (version, _hashes) in locked().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            mismatched.append((name, str(version), None))
            continue
        if installed != version:
            mismatched.append((name, str(version), str(installed)))
    assert mismatched == [], "installed versions differ from requirements.lock: run `make install`"
