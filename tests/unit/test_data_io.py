from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from opsml.cards._data_io import load_data, save_data
from opsml.errors import ArtifactNotFoundError, InvalidInputError, UnsafePathError

ROOT = Path(__file__).resolve().parents[2]
INFO_KEYS = {"kind", "format", "files", "schema", "row_count", "splits", "library_versions"}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.array([1, 2, 3], dtype="int64"),
            "i32": np.array([1, 2, 3], dtype="int32"),
            "f": [1.5, None, 3.25],
            "s": ["a", None, "c"],
            "b": [True, False, True],
            "d": pd.to_datetime(
                ["2024-01-01T00:00", "2024-01-02T12:00", "2024-03-01T00:00"], format="ISO8601"
            ),
            "tz": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).tz_localize("UTC"),
        }
    )


def _assert_info(info: dict[str, Any], dest: Path) -> None:
    assert set(info) == INFO_KEYS
    assert json.loads(json.dumps(info, allow_nan=False)) == info
    for rel in info["files"]:
        assert (dest / rel).is_file(), rel
        assert not rel.startswith("/") and "\\" not in rel


def test_pandas_round_trip(tmp_path: Path) -> None:
    df = _frame()
    info = save_data(df, tmp_path)
    _assert_info(info, tmp_path)
    assert info["kind"] == "pandas"
    assert info["format"] == "parquet"
    assert info["files"] == ["data/data.parquet"]
    assert info["row_count"] == 3
    assert info["schema"]["i32"] == "int32"
    assert set(info["schema"]) == set(df.columns)
    assert {"python", "pandas", "pyarrow"} <= set(info["library_versions"])
    back = load_data(tmp_path, info)
    assert isinstance(back, pd.DataFrame)
    pd.testing.assert_frame_equal(back, df)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()


def test_pandas_index_is_kept(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="key"))
    back = load_data(tmp_path, save_data(df, tmp_path))
    pd.testing.assert_frame_equal(back, df)


def test_pyarrow_round_trip(tmp_path: Path) -> None:
    table = pa.table({"a": [1, 2], "s": ["x", "y"], "t": pa.array([0, 1], pa.timestamp("ms"))})
    info = save_data(table, tmp_path)
    _assert_info(info, tmp_path)
    assert info["kind"] == "pyarrow"
    assert info["schema"] == {"a": "int64", "s": "string", "t": "timestamp[ms]"}
    back = load_data(tmp_path, info)
    assert isinstance(back, pa.Table)
    assert back.equals(table)


def test_polars_round_trip(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, None, 2.0],
            "s": ["a", "b", None],
            "b": [True, False, None],
            "d": pl.datetime_range(
                pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 3), "1d", eager=True
            ),
        }
    )
    info = save_data(df, tmp_path)
    _assert_info(info, tmp_path)
    assert info["kind"] == "polars"
    assert info["row_count"] == 3
    assert info["schema"]["s"] == "String"
    back = load_data(tmp_path, info)
    assert isinstance(back, pl.DataFrame)
    assert back.schema == df.schema
    assert back.equals(df)


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12, dtype="int16").reshape(4, 3),
        np.linspace(0, 1, 5),
        np.array(["a", "bc"]),
        np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[s]"),
        np.array([True, False]),
    ],
)
def test_numpy_round_trip(tmp_path: Path, arr: np.ndarray[Any, Any]) -> None:
    info = save_data(arr, tmp_path)
    _assert_info(info, tmp_path)
    assert info["kind"] == "numpy"
    assert info["format"] == "npy"
    assert info["files"] == ["data/data.npy"]
    assert info["schema"] == {"dtype": str(arr.dtype), "shape": list(arr.shape)}
    assert info["row_count"] == arr.shape[0]
    back = load_data(tmp_path, info)
    assert isinstance(back, np.ndarray)
    assert back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)


def test_object_array_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="object"):
        save_data(np.array([{"a": 1}, None], dtype=object), tmp_path)
    assert not (tmp_path / "data" / "data.npy").exists()


def test_masked_array_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="ndarray"):
        save_data(np.ma.masked_array([1, 2], mask=[0, 1]), tmp_path)


@pytest.mark.parametrize(
    ("obj", "hint"),
    [
        (42, "builtins.int"),
        ({"a": [1]}, "builtins.dict"),
        (pd.Series([1, 2]), "to_frame"),
        (pl.DataFrame({"a": [1]}).lazy(), "collect"),
    ],
)
def test_unsupported_type_refused(tmp_path: Path, obj: Any, hint: str) -> None:
    with pytest.raises(InvalidInputError, match="accepted") as exc:
        save_data(obj, tmp_path)
    assert hint in str(exc.value)


def test_non_string_columns_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="column names must be strings"):
        save_data(pd.DataFrame({0: [1], "a": [2]}), tmp_path)


def test_missing_path_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        save_data(tmp_path / "nope.csv", tmp_path / "out")


def test_file_path_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "in" / "train.csv"
    src.parent.mkdir()
    src.write_text("a,b\n1,2\n")
    out = tmp_path / "out"
    info = save_data(str(src), out)
    _assert_info(info, out)
    assert info["kind"] == "path"
    assert info["format"] == "files"
    assert info["files"] == ["data/files/train.csv"]
    assert info["schema"] is None and info["row_count"] is None
    back = load_data(out, info)
    assert back == out / "data" / "files" / "train.csv"
    assert back.read_text() == "a,b\n1,2\n"


def test_folder_path_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "images"
    (src / "cats").mkdir(parents=True)
    (src / "cats" / "1.png").write_bytes(b"\x89PNG")
    (src / "labels.txt").write_text("cat\n")
    os.symlink(src / "labels.txt", src / "alias.txt")  # inside the folder: copied as a file
    out = tmp_path / "out"
    info = save_data(src, out)
    _assert_info(info, out)
    assert info["files"] == [
        "data/files/images/alias.txt",
        "data/files/images/cats/1.png",
        "data/files/images/labels.txt",
    ]
    back = load_data(out, info)
    assert back == out / "data" / "files" / "images"
    assert (back / "cats" / "1.png").read_bytes() == b"\x89PNG"
    assert not (back / "alias.txt").is_symlink()
    assert (back / "alias.txt").read_text() == "cat\n"


def test_symlink_outside_folder_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    src = tmp_path / "folder"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    os.symlink(secret, src / "leak.txt")
    with pytest.raises(UnsafePathError, match="outside"):
        save_data(src, tmp_path / "out")
    (src / "leak.txt").unlink()
    os.symlink(tmp_path, src / "up")
    with pytest.raises(InvalidInputError, match="outside"):
        save_data(src, tmp_path / "out2")


def test_symlink_loop_refused(tmp_path: Path) -> None:
    src = tmp_path / "folder"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("x")
    os.symlink(src, src / "sub" / "loop")
    with pytest.raises(InvalidInputError, match="loops"):
        save_data(src, tmp_path / "out")


def test_empty_folder_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no files"):
        save_data(tmp_path / "empty", tmp_path / "out")


def test_splits_round_trip(tmp_path: Path) -> None:
    df = _frame()
    train, test = df.iloc[:2].reset_index(drop=True), df.iloc[2:].reset_index(drop=True)
    arr = np.ones((4, 2))
    info = save_data(df, tmp_path, splits={"train": train, "test-1": test, "X_val": arr})
    _assert_info(info, tmp_path)
    assert info["files"] == [
        "data/data.parquet",
        "data/splits/train.parquet",
        "data/splits/test-1.parquet",
        "data/splits/X_val.npy",
    ]
    assert info["splits"]["train"] == {
        "file": "data/splits/train.parquet",
        "kind": "pandas",
        "schema": info["schema"],
        "row_count": 2,
    }
    assert info["splits"]["X_val"]["kind"] == "numpy"
    assert "numpy" in info["library_versions"]
    pd.testing.assert_frame_equal(load_data(tmp_path, info, split="train"), train)
    pd.testing.assert_frame_equal(load_data(tmp_path, info, split="test-1"), test)
    np.testing.assert_array_equal(load_data(tmp_path, info, split="X_val"), arr)
    pd.testing.assert_frame_equal(load_data(tmp_path, info), df)
    with pytest.raises(InvalidInputError, match="available: X_val, test-1, train"):
        load_data(tmp_path, info, split="nope")


@pytest.mark.parametrize("name", ["", "a b", "../x", "x" * 65, "é", "a/b"])
def test_bad_split_name_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInputError, match="split name"):
        save_data(np.zeros(2), tmp_path, splits={name: np.zeros(1)})
    assert not (tmp_path / "data").exists()


def test_split_of_unsupported_kind_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="split 'train'"):
        save_data(np.zeros(2), tmp_path, splits={"train": "some/path.csv"})


def test_missing_files_on_load(tmp_path: Path) -> None:
    info = save_data(np.zeros(2), tmp_path)
    (tmp_path / "data" / "data.npy").unlink()
    with pytest.raises(ArtifactNotFoundError):
        load_data(tmp_path, info)
    src = tmp_path / "f.txt"
    src.write_text("x")
    path_info = save_data(src, tmp_path / "o")
    with pytest.raises(ArtifactNotFoundError):
        load_data(tmp_path / "elsewhere", path_info)


def test_bad_info_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a data info"):
        load_data(tmp_path, {"kind": "pickle"})


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import opsml.cards._data_io, opsml.cards.model_interfaces\n"
        "heavy = ('numpy', 'pandas', 'pyarrow', 'polars', 'sklearn', 'skops')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
