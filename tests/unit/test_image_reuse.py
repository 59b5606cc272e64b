"""The packaging's reuse decision (``reuse_image``), against a fake engine CLI.

A rollback packages a version packaged before: when the engine's store still
holds the image recorded for it, it is checked, not rebuilt. The store is
shared by everything on the machine that packages: another registry's
``iris-classifier`` v1.0.0 (a test, another run of the demo, another worktree)
is tagged ``…/iris-api:1.0.0`` too, so the tag can name another image by the
time of the rollback while the recorded image is still there, untagged. It is
found by its digest and tagged again, not rebuilt from the layer cache.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flows.model_packaging import Engine, image_check

IMAGE = "registry.example.com/ds-team/iris-api:1.0.0"
OURS = {"id": "a" * 64, "digest": "sha256:" + "1" * 64, "uid": "u" * 32}
THEIRS = {"id": "b" * 64, "digest": "sha256:" + "2" * 64, "uid": "v" * 32}


class FakePodman:
    """``podman image inspect`` and ``podman tag`` over an in-memory store."""

    def __init__(self, tags: dict[str, dict[str, str]], images: list[dict[str, str]]) -> None:
        self.tags, self.images = tags, images
        self.calls: list[list[str]] = []

    def _find(self, ref: str) -> dict[str, str] | None:
        if ref in self.tags:
            return self.tags[ref]
        for image in self.images:
            if "@" in ref and ref.split("@", 1)[1] == image["digest"]:
                return image  # podman resolves name@digest by the digest alone
            if ref.removeprefix("sha256:") == image["id"]:
                return image
        return None

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        if command[:3] == ["podman", "image", "inspect"]:
            found = self._find(command[3])
            if found is None:
                return subprocess.CompletedProcess(command, 125, "", "image not known")
            labels = {"ai.opsml.model.uid": found["uid"], "ai.opsml.model.version": "1.0.0"}
            data = [{"Id": found["id"], "Digest": found["digest"], "Size": 1,
                     "Config": {"User": "10001", "Labels": labels}}]  # fmt: skip
            return subprocess.CompletedProcess(command, 0, json.dumps(data), "")
        if command[:2] == ["podman", "tag"]:
            found = self._find(command[2])
            if found is None:
                return subprocess.CompletedProcess(command, 125, "", "image not known")
            self.tags[command[3]] = found
            return subprocess.CompletedProcess(command, 0, "", "")
        raise AssertionError(f"unexpected command {command}")


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A build context whose card is ours; starting the image is not this test's subject."""
    (tmp_path / "ctx" / "model").mkdir(parents=True)
    card = {"uid": OURS["uid"], "version": "1.0.0"}
    (tmp_path / "ctx" / "model" / "card.json").write_text(json.dumps(card))
    checked = {"started_with": "podman run", "healthy_seconds": 0.1}
    monkeypatch.setattr(image_check, "check_image", lambda *a, **k: checked)
    return tmp_path / "ctx"


def _store(monkeypatch: pytest.MonkeyPatch, tag: dict[str, str] | None) -> FakePodman:
    fake = FakePodman({IMAGE: tag} if tag else {}, [OURS, THEIRS])
    monkeypatch.setattr(subprocess, "run", fake)
    return fake


def test_the_tag_names_the_recorded_image_it_is_reused(
    context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _store(monkeypatch, OURS)
    reused = image_check.reuse_image(Engine("podman"), context, IMAGE, tmp_path, OURS["digest"])
    assert reused is not None and reused["reused"] is True
    assert reused["digest"] == OURS["digest"] and reused["image"] == IMAGE
    assert not [c for c in fake.calls if c[1] == "tag"]


def test_the_tag_moved_to_another_image_the_recorded_one_is_tagged_again(
    context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _store(monkeypatch, THEIRS)  # another registry's v1.0.0 was packaged since
    reused = image_check.reuse_image(Engine("podman"), context, IMAGE, tmp_path, OURS["digest"])
    assert reused is not None, "the store still holds the recorded image: no rebuild"
    assert reused["reused"] is True and reused["digest"] == OURS["digest"]
    assert reused["image"] == IMAGE and reused["image_id"] == f"sha256:{OURS['id']}"
    assert fake.tags[IMAGE] is OURS  # the tag names the checked image again


def test_the_tag_is_gone_the_recorded_image_is_tagged_again(
    context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _store(monkeypatch, None)
    reused = image_check.reuse_image(Engine("podman"), context, IMAGE, tmp_path, OURS["digest"])
    assert reused is not None and reused["digest"] == OURS["digest"]
    assert fake.tags[IMAGE] is OURS


def test_the_store_no_longer_holds_the_recorded_image_it_is_built(
    context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _store(monkeypatch, THEIRS)
    gone = "sha256:" + "3" * 64
    assert image_check.reuse_image(Engine("podman"), context, IMAGE, tmp_path, gone) is None
    assert fake.tags[IMAGE] is THEIRS  # nothing was tagged
