"""Saving and loading models as data: nothing in a saved model runs code when it loads.

A saved model is a folder: ``model.json`` (name, hyperparameters, scalar state, versions),
``arrays.npz`` (every learned array, read with ``allow_pickle=False``) and a sub-folder per
sub-model. Boosted trees are stored as their node arrays (`recsys.models.trees.Forest`); no
pickle, joblib or other executable format is written or read. Sub-model folders named in
``model.json`` must be plain names inside the folder.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import recsys
from recsys.data.interactions import CSR, Interactions
from recsys.data.schema import RatingScale
from recsys.data.vocabulary import Vocabulary
from recsys.errors import ArtifactError
from recsys.features.bias import Biases
from recsys.models.base import Recommender
from recsys.models.trees import Forest

FORMAT = "recsys-model"
FORMAT_VERSION = 3  # 3: the ranker keeps its lists' predicted ratings; 2: trees as node arrays
DATACLASSES = {cls.__name__: cls for cls in (Biases, CSR, Interactions, Forest)}


def save_model(model: Recommender, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    state = {
        key: _dump(value, key, arrays, path)
        for key, value in vars(model).items()
        if key.endswith("_") and not key.startswith("_")
    }
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recsys_version": recsys.__version__,
        "name": model.name,
        "params": model.get_params(),
        "state": state,
    }
    with open(path / "arrays.npz", "wb") as out:
        np.savez(out, **arrays)
    (path / "model.json").write_text(json.dumps(meta, indent=1, default=_json_default))
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in model.json")


def _dump(value, key: str, arrays: dict, path: Path) -> dict:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            value = value.astype(np.str_)
        arrays[key] = value
        return {"array": key}
    if sp.issparse(value):
        value = sp.csr_matrix(value)
        for part in ("data", "indices", "indptr"):
            arrays[f"{key}.{part}"] = getattr(value, part)
        return {"sparse": key, "shape": list(value.shape)}
    if isinstance(value, Vocabulary):
        arrays[key] = value.ids.astype(np.str_) if value.ids.dtype == object else value.ids
        return {"vocabulary": key}
    if isinstance(value, RatingScale):
        return {"scale": value.to_dict()}
    if isinstance(value, Recommender):
        save_model(value, path / key)
        return {"model": key}
    if dataclasses.is_dataclass(value) and type(value).__name__ in DATACLASSES:
        fields = {
            f.name: _dump(getattr(value, f.name), f"{key}.{f.name}", arrays, path)
            for f in dataclasses.fields(value)
        }
        return {"dataclass": type(value).__name__, "fields": fields}
    submodels = isinstance(value, dict) and value
    if submodels and all(isinstance(v, Recommender) for v in value.values()):
        return {"models": {n: _dump(v, f"{key}.{n}", arrays, path) for n, v in value.items()}}
    if isinstance(value, list | tuple | dict | str | int | float | bool | type(None) | np.generic):
        return {"value": value}
    raise TypeError(f"cannot save attribute {key} of type {type(value).__name__}")


def load_model(path: str | Path) -> Recommender:
    """Load a saved model; a missing, corrupt or incompatible folder raises ArtifactError."""
    from recsys.models.registry import MODELS

    path = Path(path)
    meta_file = path / "model.json"
    if not meta_file.is_file():
        raise ArtifactError(f"{path}: not a saved model (no model.json)")
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{meta_file}: unreadable ({error})") from error
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_file}: not a recsys model file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: saved in model format {meta.get('format_version')} by recsys "
            f"{meta.get('recsys_version')}; this recsys {recsys.__version__} reads format "
            f"{FORMAT_VERSION} — retrain with `recsys train`"
        )
    cls = MODELS.get(meta.get("name"))
    if cls is None:
        raise ArtifactError(f"{path}: unknown model {meta.get('name')!r}")
    try:
        model = cls(**meta["params"])
        with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
            for key, spec in meta["state"].items():
                setattr(model, key, _restore(spec, arrays, path))
        model.check_state()
    except ArtifactError:
        raise
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ArtifactError(f"{path}: corrupt or incomplete model ({error})") from error
    return model


def _inside(folder: Path, name: object) -> Path:
    """A sub-model folder named in model.json: a plain name, never a path out of ``folder``."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in {".", ".."}:
        raise ArtifactError(f"{folder}: sub-model {name!r} is not a plain folder name")
    return folder / name


def _restore(spec: dict, arrays, path: Path):
    if "array" in spec:
        return arrays[spec["array"]]
    if "sparse" in spec:
        key = spec["sparse"]
        parts = (arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"])
        matrix = sp.csr_matrix(parts, shape=tuple(int(n) for n in spec["shape"]))
        matrix.check_format(full_check=True)
        return matrix
    if "vocabulary" in spec:
        ids = arrays[spec["vocabulary"]]
        return Vocabulary(ids.astype(object) if ids.dtype.kind == "U" else ids)
    if "scale" in spec:
        return RatingScale(**spec["scale"])
    if "model" in spec:
        return load_model(_inside(path, spec["model"]))
    if "dataclass" in spec:
        cls = DATACLASSES[spec["dataclass"]]
        value = cls(**{k: _restore(v, arrays, path) for k, v in spec["fields"].items()})
        if isinstance(value, Forest):
            value.check()  # trees that point outside themselves never reach prediction
        return value
    if "models" in spec:
        return {name: _restore(v, arrays, path) for name, v in spec["models"].items()}
    return spec["value"]
