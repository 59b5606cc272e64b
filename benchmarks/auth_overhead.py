"""What authentication costs a registration: register p50 with no auth, basic auth (the
bootstrap administrator, a database user) and a bearer service token (issue 14).

Run: ``python -m benchmarks.auth_overhead [--n 60]``. The modes are measured in
interleaved rounds, so that load from other processes falls on all of them alike.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks import workloads
from benchmarks._timing import p50_ms, timed
from opsml_testing import proc
from opsml_testing.live_server import start_registry

ROOT = ("bench-root", "bench-root-password")
MODES = ("no auth", "basic (bootstrap admin)", "basic (database user)", "bearer token")


def _server(root: Path, *, auth: bool) -> proc.Server:
    """A server on its own SQLite database; with ``auth``, the bootstrap administrator set."""
    root.mkdir(parents=True, exist_ok=True)
    env = workloads.server_env(f"sqlite:///{(root / 'registry.db').as_posix()}", root)
    if auth:
        env.update({"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]})
    return start_registry(env, log_path=root / "server.log")


def _identities(url: str) -> str:
    """A writer ``bench`` (password and token) on the ``bench`` repository; the token."""
    with httpx.Client(base_url=url, auth=ROOT) as admin:
        admin.post("/api/v1/users", json={"name": "bench", "password": "bench-password"})
        admin.post("/api/v1/users/bench/grants", json={"role": "writer", "repository": "bench"})
        answer = admin.post("/api/v1/tokens", json={"name": "bench-token", "user": "bench"})
        answer.raise_for_status()
        token: str = answer.json()["token"]
        return token


def _registrar(url: str, **credentials: Any) -> Callable[[], None]:
    from opsml import CardRegistry, ModelCard
    from opsml.backends.http import HttpBackend

    model, x = workloads._small_model()
    registry = CardRegistry("model", backend=HttpBackend(url, **credentials))
    name = f"auth-{uuid.uuid4().hex[:6]}"

    def register() -> None:
        card = ModelCard(
            name=name, repository="bench", contact="bench", model=model, sample_input=x.head(5)
        )
        registry.register_card(card, version_type="patch")

    return register


def measure(n: int, rounds: int = 5) -> dict[str, Any]:
    """Register p50 (ms) per mode, ``n`` registrations each, in interleaved rotated rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = _server(Path(tmp) / "plain", auth=False)
        secured = _server(Path(tmp) / "secured", auth=True)
        try:
            token = _identities(secured.url)
            calls = {
                MODES[0]: _registrar(plain.url),
                MODES[1]: _registrar(secured.url, username=ROOT[0], password=ROOT[1]),
                MODES[2]: _registrar(secured.url, username="bench", password="bench-password"),
                MODES[3]: _registrar(secured.url, token=token),
            }
            samples: dict[str, list[float]] = {mode: [] for mode in MODES}
            per_round = max(1, n // rounds)
            for call in calls.values():
                timed(call, 0, warmup=2)
            for index in range(rounds):  # rotated, so that no mode always runs first
                for mode in MODES[index % 4 :] + MODES[: index % 4]:
                    samples[mode] += timed(calls[mode], per_round, warmup=0)
        finally:
            plain.stop()
            secured.stop()
    p50 = {mode: p50_ms(values) for mode, values in samples.items()}
    return {
        "register_p50_ms": p50,
        "bearer_minus_no_auth_ms": p50[MODES[3]] - p50[MODES[0]],
        "registrations_per_mode": len(samples[MODES[0]]),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    """Print the table and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=60, help="registrations per mode")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    result = measure(args.n, args.rounds)
    for mode, value in result["register_p50_ms"].items():
        print(f"{mode:28s} {value:7.2f} ms")
    print(f"bearer - no auth: {result['bearer_minus_no_auth_ms']:+.2f} ms")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
