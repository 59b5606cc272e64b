"""Where the CPU goes during a load test: CPU seconds and RSS per process group (psutil).

Groups: the registry replicas (each with its children), PostgreSQL (every
``postgres`` process on the machine: other users' queries count too), the S3
emulator, HAProxy, and the load generator (children of this process that
finished in between: the Locust run).
"""

from __future__ import annotations

import resource
from contextlib import suppress


class CpuAccount:
    """Snapshots of CPU seconds (user + system) by process group.

    Example:
        >>> import os
        >>> account = CpuAccount(replicas={"me": os.getpid()})
        >>> account.snapshot()["replicas"] > 0
        True

    """

    def __init__(self, *, replicas: dict[str, int], **others: int) -> None:
        import psutil

        self.replicas = {name: psutil.Process(pid) for name, pid in replicas.items()}
        self.others = {name: psutil.Process(pid) for name, pid in others.items()}

    @staticmethod
    def _cpu(process: object, children: bool = True) -> float:
        import psutil

        assert isinstance(process, psutil.Process)
        total = 0.0
        family = [process, *(process.children(recursive=True) if children else [])]
        for proc in family:
            with suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    @staticmethod
    def _postgres() -> float:
        import psutil

        total = 0.0
        for proc in psutil.process_iter(["name"]):
            if proc.info["name"] == "postgres":
                with suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
        return total

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far, by group."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = {"replicas": sum(self._cpu(p) for p in self.replicas.values())}
        out["postgres"] = self._postgres()
        for name, proc in self.others.items():
            out[name] = self._cpu(proc)
        out["client"] = usage.ru_utime + usage.ru_stime
        return out

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of each replica (with its children), MiB."""
        import psutil

        out = {}
        for name, proc in self.replicas.items():
            total = 0
            for member in [proc, *proc.children(recursive=True)]:
                with suppress(psutil.Error):
                    total += member.memory_info().rss
            out[name] = round(total / 2**20, 1)
        return out
