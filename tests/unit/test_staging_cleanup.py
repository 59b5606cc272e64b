"""A registration's staging folder is removed off the caller's clock, but before exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from opsml import CardRegistry, RunCard

    blob = Path(sys.argv[1]) / "weights.bin"
    blob.write_bytes(b"x" * 1_000_000)
    reg = CardRegistry("run")
    for i in range(int(sys.argv[2])):
        card = RunCard(name="nightly", repository="ds-team", contact="ds@example.com")
        card.log_artifact(blob)
        reg.register_card(card, version_type="patch")
        if os.fork() == 0:  # a forked child registers too, and cleans up after itself
            card = RunCard(name="child", repository="ds-team", contact="ds@example.com")
            card.log_artifact(blob)
            reg.register_card(card, version_type="patch")
            sys.stdout.flush()
            sys.exit(0)
        os.wait()
    print("registered")
    """
)


def test_staging_folders_are_gone_after_a_normal_exit(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSML_")},
        "TMPDIR": str(scratch),
        "OPSML_TRACKING_URI": f"sqlite:///{(tmp_path / 'registry.db').as_posix()}",
        "OPSML_STORAGE_URI": (tmp_path / "artifacts").as_posix(),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), "3"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "registered"
    assert sorted(p.name for p in scratch.iterdir()) == []
    assert len(list((tmp_path / "artifacts").rglob("weights.bin"))) == 6
