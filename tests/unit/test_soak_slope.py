"""The soak's memory verdict: a steady leak fails it, a one-off RSS step does not."""

from __future__ import annotations

import pytest

from opsml_testing.soak import MIB, Soak


def _soak(rss_at: dict[int, int]) -> Soak:
    """13 samples 10 s apart, 3,000 requests between them, RSS given per sample index."""
    return Soak(samples=[(i * 10.0, i * 3000, rss_at[i]) for i in range(13)], warmup=30.0)


def test_a_steady_leak_shows_in_both_halves() -> None:
    leak = _soak({i: i * 3000 * 2 * MIB // 10_000 for i in range(13)})  # 2 MiB per 10,000
    assert leak.steady_slope_mib_per_10k() == pytest.approx(2.0, rel=1e-3)


def test_one_step_of_the_allocator_is_not_a_leak() -> None:
    step = _soak({i: 2 * MIB if i >= 8 else 0 for i in range(13)})  # what failed CI once
    assert step.slope_mib_per_10k() > 1.0
    assert step.steady_slope_mib_per_10k() == pytest.approx(0.0, abs=1e-9)


def test_too_few_samples_for_two_halves_is_an_error() -> None:
    with pytest.raises(ValueError, match="two halves"):
        Soak(samples=[(float(t), t, 0) for t in range(4)]).steady_slope_mib_per_10k()
