"""The packaging flow's report: the run's markdown artifact and how its image came to be.

Example:
    >>> how_built({"reused": True, "retagged": False})
    'built before, reused'

"""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact

from flows import model_packaging as steps


def publish(
    spec: steps.ModelApiSpec,
    checked: dict[str, Any],
    context: str,
    manifests: list[str],
    image: str,
    built: dict[str, Any],
    smoke: dict[str, Any],
    timings: dict[str, float],
) -> None:
    """The run's markdown artifact: what was packaged and where it is."""
    create_markdown_artifact(
        key=steps.k8s_name(f"opsml-package-{spec.model.name}"),
        description=f"Packaged {spec.model.repository}/{spec.model.name} v{checked['version']}",
        markdown="\n".join(
            [
                f"### Model API `{spec.model.repository}/{spec.model.name}` v{checked['version']}",
                "",
                "| what | where |",
                "| --- | --- |",
                f"| model uid | `{checked['uid']}` |",
                f"| build context | `{context}` |",
                *[f"| manifest | `{m}` |" for m in manifests],
                f"| image | `{image}` ({'built' if built['built'] else 'not built'}) |",
                *image_rows(built),
                f"| smoke test | predictions `{smoke['predictions']}` = card sample output |",
                f"| seconds per step | {', '.join(f'{k} {v}' for k, v in timings.items())} |",
                "",
                f"Build: `{built['command']}`",
            ]
        ),
    )


def how_built(built: dict[str, Any]) -> str:
    """``built``, or ``built before, reused`` (and whether its tag had to name it again)."""
    if not built.get("reused"):
        return "built"
    if built.get("retagged"):
        return "built before, reused; tagged again (the tag named another image)"
    return "built before, reused"


def image_rows(built: dict[str, Any]) -> list[str]:
    """The image's rows of the report (none when no image was built)."""
    if not built["built"]:
        return []
    check = built["check"]
    return [
        f"| image id / digest | `{built['image_id']}` / `{built['digest']}`"
        f"{' (built before for this version: reused)' if built.get('reused') else ''} |",
        f"| image size | {built['size_mb']} MB ({built['engine']}) |",
        f"| started as | user `{built['user']}` with {check['started_with']} |",
        f"| HTTP check | `{check['predictions']}` = card sample output; "
        f"{check['refused']} bad requests got 422 |",
    ]
