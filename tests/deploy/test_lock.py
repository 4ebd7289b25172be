"""The image's lock file (deploy/requirements.lock) satisfies pyproject.toml.

The container installs exactly the lock's pins; a dependency range changed in
pyproject.toml without `make lock` would build an image of other versions than
the ranges promise, or fail to build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    text = (ROOT / "deploy" / "requirements.lock").read_text()
    return {
        canonicalize_name(m.group(1)): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", text, re.M)
    }


def _image_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["rocksdb"]
    return [Requirement(r) for r in listed]


def test_every_image_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for req in _image_requirements():
        if req.marker is not None and not req.marker.evaluate({"sys_platform": "linux"}):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in deploy/requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"deploy/requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}: "
            "run `make lock`"
        )


def test_every_pin_carries_a_hash() -> None:
    text = (ROOT / "deploy" / "requirements.lock").read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)[1:]:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
