"""Save and load the data artifact of a DataCard.

The data lives under ``<dest>/data/``:

* pandas DataFrame, pyarrow Table, polars DataFrame: ``data/data.parquet``,
  written with pyarrow;
* numpy array: ``data/data.npy`` (``np.save`` without pickle; object arrays are
  refused);
* a path to a file or folder: copied under ``data/files/<name>`` keeping the
  relative names;
* named splits: ``data/splits/<name>.parquet`` or ``data/splits/<name>.npy``.

:func:`save_data` returns a JSON-able ``info`` dict that the card stores;
:func:`load_data` reads the same relative files back and returns an object of
the kind that was saved. The heavy libraries are imported only inside the
functions that use them, so importing this module stays cheap.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsml.cards._path_copy import copy_path_artifact
from opsml.errors import ArtifactNotFoundError, InvalidInputError, require

__all__ = ["copy_path_artifact", "load_data", "save_data"]

DATA_DIR = "data"
"""Folder under the destination that holds every data artifact."""

TABULAR_KINDS = ("pandas", "pyarrow", "polars")
ARRAY_KINDS = ("numpy",)
_SPLIT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

# (top-level module, class qualname) -> kind. Matched against the MRO so that
# detection never imports the library.
_KIND_BY_CLASS: dict[tuple[str, str], str] = {
    ("pandas", "DataFrame"): "pandas",
    ("pyarrow", "Table"): "pyarrow",
    ("polars", "DataFrame"): "polars",
    ("numpy", "ndarray"): "numpy",
}
_HINT_BY_CLASS: dict[tuple[str, str], str] = {
    ("pandas", "Series"): "convert it with series.to_frame()",
    ("polars", "LazyFrame"): "collect it first with lazy_frame.collect()",
    ("polars", "Series"): "convert it with series.to_frame()",
    ("pyarrow", "RecordBatch"): "convert it with pyarrow.Table.from_batches([batch])",
}
ACCEPTED = (
    "a pandas DataFrame, a pyarrow Table, a polars DataFrame, a numpy array "
    "or a path (str or os.PathLike) to an existing file or folder"
)


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _class_keys(obj: Any) -> Iterator[tuple[str, str]]:
    for cls in type(obj).__mro__:
        yield cls.__module__.split(".")[0], cls.__qualname__


def detect_kind(obj: Any) -> str | None:
    """Return the data kind of ``obj`` without importing any data library.

    Args:
        obj: Any object.

    Returns:
        ``"pandas"``, ``"pyarrow"``, ``"polars"``, ``"numpy"``, ``"path"`` or
        ``None`` when the object is not a supported kind.

    Example:
        >>> detect_kind("data/train.csv")
        'path'
        >>> detect_kind(42) is None
        True

    """
    if isinstance(obj, (str, os.PathLike)):
        return "path"
    for key in _class_keys(obj):
        if key in _KIND_BY_CLASS:
            return _KIND_BY_CLASS[key]
    return None


def _unsupported(obj: Any, what: str, accepted: str) -> InvalidInputError:
    hint = next((_HINT_BY_CLASS[k] for k in _class_keys(obj) if k in _HINT_BY_CLASS), None)
    message = f"{what} of type {_type_name(obj)} is not supported; accepted: {accepted}"
    if hint:
        message += f" ({hint})"
    return InvalidInputError(message)


def _library_versions(kind: str) -> dict[str, str]:
    import importlib

    versions = {"python": platform.python_version()}
    modules = {
        "pandas": ("pandas", "pyarrow"),
        "pyarrow": ("pyarrow",),
        "polars": ("polars", "pyarrow"),
        "numpy": ("numpy",),
    }.get(kind, ())
    for name in modules:
        versions[name] = str(getattr(importlib.import_module(name), "__version__", "unknown"))
    return versions


# --------------------------------------------------------------------- tabular


def _to_arrow(obj: Any, kind: str) -> Any:
    """Turn a supported table into a pyarrow Table, refusing ambiguous columns."""
    require("pyarrow", "ml")
    import pyarrow as pa

    if kind == "pandas":
        require("pandas", "ml")
        names = list(obj.columns)
        bad = [n for n in names if not isinstance(n, str)]
        if bad:
            raise InvalidInputError(
                f"pandas column names must be strings to be stored as Parquet; got "
                f"{bad[0]!r} ({type(bad[0]).__name__}); rename them, e.g. "
                "df.columns = df.columns.astype(str)"
            )
        if len(set(names)) != len(names):
            raise InvalidInputError("the pandas DataFrame has duplicate column names")
        try:
            return pa.Table.from_pandas(obj)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"the pandas DataFrame cannot be stored as Parquet: {exc}"
            ) from exc
    if kind == "polars":
        require("polars", "ml")
        return obj.to_arrow()
    names = list(obj.column_names)
    if len(set(names)) != len(names):
        raise InvalidInputError("the pyarrow Table has duplicate column names")
    return obj


def _tabular_schema(obj: Any, kind: str) -> dict[str, Any]:
    if kind == "pyarrow":
        return {field.name: str(field.type) for field in obj.schema}
    if kind == "polars":
        return {name: str(dtype) for name, dtype in obj.schema.items()}
    return {str(name): str(dtype) for name, dtype in obj.dtypes.items()}


def _write_object(
    obj: Any, kind: str, base: Path, stem: str
) -> tuple[str, dict[str, Any], int | None]:
    """Write one table or array as ``<base>/<stem>.parquet|.npy``.

    Returns:
        The file name written, the schema and the row count.

    """
    base.mkdir(parents=True, exist_ok=True)
    if kind in TABULAR_KINDS:
        import pyarrow.parquet as pq

        table = _to_arrow(obj, kind)
        name = f"{stem}.parquet"
        pq.write_table(table, base / name)
        return name, _tabular_schema(obj, kind), int(table.num_rows)
    require("numpy", "ml")
    import numpy as np

    if type(obj) is not np.ndarray:
        raise InvalidInputError(
            f"numpy array subclasses such as {_type_name(obj)} are not supported; "
            "pass a plain numpy.ndarray (np.asarray(x))"
        )
    if obj.dtype.hasobject:
        raise InvalidInputError(
            f"numpy arrays of dtype {obj.dtype} hold Python objects and cannot be stored "
            "without pickle; convert them to a numeric, string or datetime dtype, or to a "
            "pandas DataFrame"
        )
    name = f"{stem}.npy"
    np.save(base / name, obj, allow_pickle=False)
    schema = {"dtype": str(obj.dtype), "shape": [int(n) for n in obj.shape]}
    return name, schema, int(obj.shape[0]) if obj.ndim else None


def _read_object(path: Path, kind: str) -> Any:
    if not path.is_file():
        raise ArtifactNotFoundError(f"data file {path} is missing")
    if kind == "numpy":
        require("numpy", "ml")
        import numpy as np

        return np.load(path, allow_pickle=False)
    require("pyarrow", "ml")
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if kind == "pyarrow":
        return table
    if kind == "pandas":
        require("pandas", "ml")
        return table.to_pandas()
    require("polars", "ml")
    import polars as pl

    return pl.from_arrow(table)


# ------------------------------------------------------------------ public API


def save_data(data: Any, dest: Path, *, splits: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``data`` (and optional named splits) under ``dest/data``.

    Tables (pandas, pyarrow, polars) are written as Parquet with pyarrow, numpy
    arrays as ``.npy`` without pickle, and a path is copied file by file.

    Args:
        data: A pandas DataFrame, pyarrow Table, polars DataFrame, numpy array,
            or a ``str``/``os.PathLike`` to an existing file or folder.
        dest: The card's artifact folder; files go under ``dest/data``.
        splits: Optional mapping of split name (``[A-Za-z0-9_-]{1,64}``) to a
            table or array of a supported kind (kinds may differ from ``data``).

    Returns:
        A JSON-able dict with the keys ``kind``, ``format``, ``files``,
        ``schema``, ``row_count``, ``splits`` and ``library_versions``. Each
        split entry holds ``file``, ``kind``, ``schema`` and ``row_count``.

    Raises:
        InvalidInputError: Unsupported type, object numpy array, missing path,
            non-string or duplicate column names, or a bad split name.
        MissingDependencyError: The library needed to write the data is missing.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = save_data(np.arange(6).reshape(3, 2), Path(tmp))
        >>> info["files"], info["schema"]["shape"], info["row_count"]
        (['data/data.npy'], [3, 2], 3)

    """
    kind = detect_kind(data)
    if kind is None:
        raise _unsupported(data, "data", ACCEPTED)
    split_items = _check_splits(splits)
    base = dest / DATA_DIR
    info: dict[str, Any] = {"kind": kind}
    if kind == "path":
        info.update(
            format="files",
            files=copy_path_artifact(data, dest, f"{DATA_DIR}/files"),
            schema=None,
            row_count=None,
        )
    else:
        name, schema, rows = _write_object(data, kind, base, "data")
        info.update(
            format="npy" if kind == "numpy" else "parquet",
            files=[f"{DATA_DIR}/{name}"],
            schema=schema,
            row_count=rows,
        )
    versions = _library_versions(kind)
    info["splits"] = _write_splits(split_items, base / "splits", info["files"], versions)
    info["library_versions"] = versions
    return info


def _write_splits(
    split_items: dict[str, tuple[Any, str]],
    folder: Path,
    files: list[str],
    versions: dict[str, str],
) -> dict[str, Any]:
    """Write the splits under ``folder``, adding to ``files`` and ``versions``."""
    split_info: dict[str, Any] = {}
    for split_name, (split_obj, split_kind) in split_items.items():
        fname, schema, rows = _write_object(split_obj, split_kind, folder, split_name)
        rel = f"{DATA_DIR}/splits/{fname}"
        split_info[split_name] = {
            "file": rel,
            "kind": split_kind,
            "schema": schema,
            "row_count": rows,
        }
        files.append(rel)
        versions.update(_library_versions(split_kind))
    return split_info


def _check_splits(splits: dict[str, Any] | None) -> dict[str, tuple[Any, str]]:
    if splits is None:
        return {}
    if not isinstance(splits, dict):
        raise InvalidInputError(
            f"splits must be a dict of split name to table or array; got {_type_name(splits)}"
        )
    checked: dict[str, tuple[Any, str]] = {}
    for name, obj in splits.items():
        if not isinstance(name, str) or not _SPLIT_NAME.fullmatch(name):
            raise InvalidInputError(
                f"split name {name!r} is not valid: use 1 to 64 letters, digits, '_' or '-'"
            )
        kind = detect_kind(obj)
        if kind not in TABULAR_KINDS + ARRAY_KINDS:
            raise _unsupported(
                obj,
                f"split {name!r}",
                "a pandas DataFrame, a pyarrow Table, a polars DataFrame or a numpy array",
            )
        checked[name] = (obj, kind)
    return checked


def load_data(src: Path, info: dict[str, Any], *, split: str | None = None) -> Any:
    """Read data saved by :func:`save_data` from ``src``.

    Args:
        src: A folder holding the relative files listed in ``info["files"]``.
        info: The dict :func:`save_data` returned.
        split: Name of a split to load instead of the main data.

    Returns:
        An object of the kind that was saved: a pandas DataFrame, pyarrow Table,
        polars DataFrame or numpy array; for a path, the :class:`~pathlib.Path`
        of the copied file or folder under ``src``.

    Raises:
        InvalidInputError: ``info`` is not a data info dict or the split does
            not exist.
        ArtifactNotFoundError: A file listed in ``info`` is missing under ``src``.
        MissingDependencyError: The library needed to read the data is missing.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = save_data(np.zeros(3), Path(tmp), splits={"test": np.ones(2)})
        ...     load_data(Path(tmp), info, split="test").tolist()
        [1.0, 1.0]

    """
    kind = info.get("kind") if isinstance(info, dict) else None
    if kind not in (*TABULAR_KINDS, *ARRAY_KINDS, "path"):
        raise InvalidInputError(
            f"not a data info dict: kind {kind!r}; expected the dict save_data returned"
        )
    if split is not None:
        splits = info.get("splits") or {}
        if split not in splits:
            available = ", ".join(sorted(splits)) or "none"
            raise InvalidInputError(f"no split {split!r} in this data; available: {available}")
        entry = splits[split]
        return _read_object(src.joinpath(*entry["file"].split("/")), entry["kind"])
    files: list[str] = list(info.get("files") or [])
    if kind == "path":
        missing = [f for f in files if not src.joinpath(*f.split("/")).is_file()]
        if not files or missing:
            raise ArtifactNotFoundError(
                f"data files missing under {src}: {', '.join(missing) or 'no files recorded'}"
            )
        return src.joinpath(*files[0].split("/")[:3])
    main = next((f for f in files if not f.startswith(f"{DATA_DIR}/splits/")), None)
    if main is None:
        raise ArtifactNotFoundError(f"no main data file recorded for data under {src}")
    return _read_object(src.joinpath(*main.split("/")), kind)
