"""Build the serving image, start it as its user and check it over HTTP, timing each step.

The check after the build: the image's labels name the card's uid and
version; its own command, started as its ``USER``, answers ``/healthz``; the
card's sample input gets the card's sample output; each bad request gets a
422; ``/metadata`` names the card's uid. Then the container is stopped.

Example:
    >>> podman = Engine("podman")
    >>> build_and_check(podman, "build/x/context", "iris-api:1.0.0", "build/x")  # doctest: +SKIP
    {'image': 'iris-api:1.0.0', 'digest': 'sha256:…', 'size_mb': 402.1, 'started_with': …}

"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flows.model_packaging.container import running
from flows.model_packaging.engine import Engine, find_engine
from flows.model_packaging.image import (
    ImageInfo,
    PackagingError,
    build_image,
    inspect_image,
    repository_of,
    tag_image,
)
from flows.model_packaging.smoke import SmokeTestError, check_answers
from flows.model_packaging.spec import read_card

__all__ = [
    "build_and_check",
    "check_image",
    "check_labels",
    "image_step",
    "reuse_image",
    "stored_image",
]


def check_labels(info: ImageInfo, card: dict[str, Any], folder: str | Path = "") -> None:
    """The image's ``ai.opsml.model.*`` labels name the card's uid and version.

    Example:
        >>> info = ImageInfo("a:1", "sha256:0", "", 1, labels={
        ...     "ai.opsml.model.uid": "u", "ai.opsml.model.version": "1.0.0"})
        >>> check_labels(info, {"uid": "u", "version": "1.0.0"})

    """
    wanted = {"ai.opsml.model.uid": card["uid"], "ai.opsml.model.version": card["version"]}
    wrong = {k: info.labels.get(k) for k, v in wanted.items() if info.labels.get(k) != v}
    if wrong:
        raise PackagingError(
            "label check", info.reference, f"labels {wrong} should be {wanted}", folder=folder
        )


def check_image(
    engine: Engine,
    info: ImageInfo,
    card: dict[str, Any],
    folder: str | Path,
    start_timeout: float = 90.0,
) -> dict[str, Any]:
    """Start the image, check its answers over HTTP, stop it.

    ``start_timeout``: seconds ``/healthz`` gets to answer.

    Returns:
        ``started_with`` (``podman run`` or ``buildah run``), ``healthy_seconds``,
        ``predictions`` and ``refused``.

    Raises:
        PackagingError: it did not start, or answered something else (with the log's tail).

    """
    import httpx

    started = time.perf_counter()
    with running(engine, info, folder, timeout=start_timeout) as (url, how):
        healthy = time.perf_counter() - started
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                answers = check_answers(client, card)
                metadata = client.get("/metadata").json()
        except SmokeTestError as exc:
            raise PackagingError("HTTP check", info.reference, exc.message, folder=folder) from exc
        if metadata.get("uid") != card["uid"]:
            raise PackagingError(
                "HTTP check",
                info.reference,
                f"/metadata names uid {metadata.get('uid')!r}, the card is {card['uid']!r}",
                folder=folder,
            )
    return {"started_with": how, "healthy_seconds": round(healthy, 2), **answers}


def build_and_check(
    engine: Engine,
    context: str | Path,
    image: str,
    folder: str | Path,
    start_timeout: float = 90.0,
    no_cache: bool = False,
) -> dict[str, Any]:
    """Build ``image`` from ``context``, check labels, start it and check its answers.

    ``no_cache`` rebuilds every layer.

    Returns:
        What :meth:`ImageInfo.as_dict` gives, ``engine``, ``check`` (what
        :func:`check_image` returns) and ``timings`` (seconds of ``build`` and ``check``).

    Raises:
        PackagingError: one line naming the step, the image and the log's tail.

    """
    card = read_card(Path(context) / "model")
    started = time.perf_counter()
    info = build_image(engine, context, image, folder, no_cache=no_cache)
    built = time.perf_counter()
    check_labels(info, card, folder)
    check = check_image(engine, info, card, folder, start_timeout)
    done = time.perf_counter()
    return {
        **info.as_dict(),
        "engine": engine.name,
        "check": check,
        "timings": {"build": round(built - started, 2), "check": round(done - built, 2)},
    }


def stored_image(engine: Engine, image: str, digest: str) -> ImageInfo | None:
    """The image the engine's store holds as ``digest``: under ``image``, else by the digest.

    The tag ``image`` (the model version's tag) is shared by everything that packages
    on the machine: another registry's card with the same name and version (a test,
    another run of the demo, another checkout) is tagged the same, so the tag may
    name another image now while the recorded one is still in the store, untagged.
    That one is looked up as ``<repository>@<digest>`` (an engine's manifest digest)
    and as the bare digest (an engine that records the image id, as docker does).

    Returns:
        What :func:`inspect_image` says of it (``reference`` is how it was found), or
        ``None`` when the store does not hold it.

    Example:
        >>> stored_image(Engine("podman"), "iris-api:1.0.0", "sha256:…")  # doctest: +SKIP

    """
    for reference in (image, f"{repository_of(image)}@{digest}", digest):
        try:
            info = inspect_image(engine, reference)
        except PackagingError:
            continue
        if digest in (info.digest, info.id):
            return info
    return None


def reuse_image(
    engine: Engine, context: str | Path, image: str, folder: str | Path, digest: str
) -> dict[str, Any] | None:
    """Check the image already built as ``digest`` instead of building it again, if it is there.

    A rollback packages a version that was packaged before: when the engine's
    store still holds the image with that digest (see :func:`stored_image`), its
    labels are checked, ``image`` is made to name it again if the tag had moved,
    and it is started and checked as a new build would be (``/healthz``, answers);
    nothing is rebuilt.

    Returns:
        What :func:`build_and_check` returns, with ``reused`` true and ``retagged``
        (whether ``image`` named another image, or none, before); ``None`` when the
        store does not hold that image (then build it).

    Raises:
        PackagingError: the image's labels name another card, or tagging it failed.

    """
    info = stored_image(engine, image, digest)
    if info is None:
        return None
    card = read_card(Path(context) / "model")
    started = time.perf_counter()
    check_labels(info, card, folder)
    retagged = info.reference != image
    if retagged:
        tag_image(engine, info.id, image, folder)
        info = inspect_image(engine, image)
        if digest not in (info.digest, info.id):  # another packaging tagged it meanwhile
            return None
    check = check_image(engine, info, card, folder)
    return {
        **info.as_dict(),
        "engine": engine.name,
        "check": check,
        "reused": True,
        "retagged": retagged,
        "timings": {"build": 0.0, "check": round(time.perf_counter() - started, 2)},
    }


def image_step(
    context: str | Path,
    image: str,
    folder: str | Path,
    *,
    build: bool,
    engine: str | None,
    reuse_digest: str | None = None,
) -> dict[str, Any]:
    """The packaging's image step: build and check when an engine answers, else say how.

    ``engine`` is the spec's ``api.engine`` (else ``$OPSML_CONTAINER_ENGINE``, else
    the first of docker, podman, buildah that answers). ``reuse_digest``: the
    digest this version's image was recorded with before (see :func:`reuse_image`).

    Returns:
        ``built`` (bool), ``image``, ``command`` (the build command); when built,
        also what :func:`build_and_check` returns (``reused`` says whether the image
        was built before and only checked now).

    Example:
        >>> image_step("ctx", "iris-api:1.0.0", "build", build=False, engine=None)["command"]
        'docker build --tag iris-api:1.0.0 ctx'

    """
    found = find_engine(engine) if build else None
    builder = found or Engine(engine or "docker")  # type: ignore[arg-type]
    command = " ".join(builder.build_command(context, image))
    if found is None:
        return {"built": False, "image": image, "command": command}
    if reuse_digest:
        reused = reuse_image(found, context, image, folder, reuse_digest)
        if reused is not None:
            return {"built": True, "command": command, **reused}
    checked = build_and_check(found, context, image, folder)
    return {"built": True, "command": command, "reused": False, **checked}
