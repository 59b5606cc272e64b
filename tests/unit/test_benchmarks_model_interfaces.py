"""The model-interface benchmark workload runs end to end at a tiny size."""

from __future__ import annotations

from pathlib import Path

from benchmarks import model_interfaces, run, workloads


def test_model_interface_workload_measures_every_interface(tmp_path: Path) -> None:
    server = workloads.start_server(tmp_path)
    try:
        result = model_interfaces.interface_latency(server.url, 1, scale=0.05)
    finally:
        server.stop()
    assert list(result) == list(model_interfaces.INTERFACES)
    for interface, r in result.items():
        assert r["model_mb"] > 0 and r["register_p50_ms"] > 0 and r["load_p50_ms"] > 0
        if interface != "onnx":
            assert r["onnx_max_abs_diff"] < 1e-4
            assert r["onnx_predict_p50_ms"] > 0 and r["native_predict_p50_ms"] > 0
    table_rows = model_interfaces.rows(result, run.Row)
    assert len(table_rows) == 2 * 4 + 2 * 3
    assert all(row.ours is not None for row in table_rows)
