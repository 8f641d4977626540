"""A model folder is data: every fault is refused before the service reports ready, with one line
that names the file and the problem, and nothing in it can run code."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest

from recsys.data.synthetic import synthesize
from recsys.errors import ArtifactError, ConfigError
from recsys.models.persistence import load_model
from recsys.models.registry import make_model
from recsys.service import load_artifact, save_artifact
from recsys.service.artifact import publish_artifact
from tests.arrays import read_npz, rewrite_npz


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    data = synthesize(3000, n_users=80, n_movies=60, seed=4)
    model = make_model("mf", n_factors=4, epochs=3).fit(data)
    return save_artifact(model, data, tmp_path_factory.mktemp("art") / "mf")


@pytest.fixture
def artifact(pristine, tmp_path):
    copy = tmp_path / "mf"
    shutil.copytree(pristine, copy)
    return copy


def rewrite(folder, **changes):
    rewrite_npz(folder / "serving.npz", **changes)


def refused(folder, match: str) -> str:
    with pytest.raises(ArtifactError, match=match) as error:
        load_artifact(folder)
    message = str(error.value)
    assert ("\n" not in message and "serving.npz" in message) or "artifact.json" in message
    return message


def test_the_pristine_artifact_loads(pristine):
    assert load_artifact(pristine).model_info()["model"] == "mf"


def test_an_item_pointing_outside_the_catalogue_is_refused(artifact):
    with np.load(artifact / "serving.npz") as a:
        item_movie = a["item_movie"].copy()
    item_movie[0] = 10**6
    rewrite(artifact, item_movie=item_movie)
    refused(artifact, "item_movie points outside")


def test_a_genre_code_outside_the_genres_is_refused(artifact):
    with np.load(artifact / "serving.npz") as a:
        codes = a["movie_genre_codes"].copy()
    codes[0] = 999
    rewrite(artifact, movie_genre_codes=codes)
    refused(artifact, "movie_genre_codes points outside")


@pytest.mark.parametrize("scale", [None, {"low": "one", "high": 5}, {"low": 5, "high": 1}])
def test_a_missing_or_nonsense_scale_is_refused(artifact, scale):
    meta = json.loads((artifact / "artifact.json").read_text())
    meta["scale"] = scale
    (artifact / "artifact.json").write_text(json.dumps(meta))
    refused(artifact, "scale")


def test_a_header_claiming_two_to_the_forty_rows_is_refused_before_allocating(artifact):
    path = artifact / "serving.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)}
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("huge.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\0" * 16)
    refused(artifact, "huge.npy claims")


@pytest.mark.parametrize("name", ["history_ratings", "item_rating_mean"])
def test_nan_numbers_are_refused(artifact, name):
    with np.load(artifact / "serving.npz") as a:
        values = a[name].copy()
    values.flat[0] = np.nan
    rewrite(artifact, **{name: values})
    refused(artifact, f"{name} is not all finite")


def rewrite_model(folder, **changes):
    rewrite_npz(folder / "arrays.npz", **changes)


def model_refused(folder, match: str) -> None:
    with pytest.raises(ArtifactError, match=match) as error:
        load_artifact(folder)
    assert "\n" not in str(error.value)


def test_a_nan_in_the_models_factors_is_refused(artifact):
    def damage(a):
        factors = a["user_factors_"].copy()
        factors[3, 1] = np.nan
        return {"user_factors_": factors}

    rewrite_model(artifact, **damage(_model_arrays(artifact)))
    model_refused(artifact, "user_factors_ is not all finite")


@pytest.mark.parametrize(
    ("name", "cut"),
    [("item_factors_", lambda v: v[:-1]), ("user_factors_", lambda v: v[:, :-1]),
     ("user_bias_", lambda v: v[1:]), ("seen_items_", lambda v: v + 10**6)],
)  # fmt: skip
def test_model_arrays_that_do_not_fit_together_are_refused(artifact, name, cut):
    rewrite_model(artifact, **{name: cut(_model_arrays(artifact)[name])})
    model_refused(artifact, "corrupt or incomplete model")


def test_a_model_from_another_training_is_refused_at_load(artifact, tmp_path):
    other = synthesize(3000, n_users=70, n_movies=60, seed=9)
    elsewhere = make_model("mf", n_factors=4, epochs=3).fit(other).save(tmp_path / "other")
    for name in ("model.json", "arrays.npz"):
        shutil.copy(elsewhere / name, artifact / name)
    model_refused(artifact, "different trainings")


def test_a_format_2_artifact_still_loads(artifact):
    meta = json.loads((artifact / "artifact.json").read_text())
    (artifact / "artifact.json").write_text(json.dumps(meta | {"format_version": 2}))
    with np.load(artifact / "serving.npz") as a:  # format 2 also held MF's vectors
        extra = {"user_vectors": np.ones((len(a["user_ids"]), 3), np.float32)}
    rewrite(artifact, **extra)
    service = load_artifact(artifact)
    assert len(service.recommend(service.users.ids[0].item(), 3).items) == 3


def _model_arrays(folder) -> dict:
    return read_npz(folder / "arrays.npz")


def test_nothing_in_a_saved_model_is_a_pickle_and_sub_models_stay_inside(tmp_path):
    data = synthesize(3000, n_users=80, n_movies=60, seed=4)
    model = make_model("gbm", folds=2, max_iter=20).fit(data)
    folder = model.save(tmp_path / "gbm")
    files = [p.name for p in folder.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".joblib", ".pkl", ".pickle"))]
    for npz in folder.rglob("*.npz"):
        with np.load(npz, allow_pickle=False) as arrays:  # would raise on an object array
            assert all(arrays[k].dtype != object for k in arrays.files)
    meta = json.loads((folder / "model.json").read_text())
    sub = next(k for k, v in meta["state"].items() if "models" in v)
    first = next(iter(meta["state"][sub]["models"]))
    meta["state"][sub]["models"][first] = {"model": "../../elsewhere"}
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="plain folder name"):
        load_model(folder)


def test_trees_that_point_outside_themselves_are_refused(tmp_path):
    data = synthesize(3000, n_users=80, n_movies=60, seed=4)
    folder = make_model("gbm-seed", max_iter=10).fit(data).save(tmp_path / "seed")
    arrays = _model_arrays(folder)
    key = next(k for k in arrays if k.endswith(".left"))
    rewrite_model(folder, **{key: np.where(arrays[key] >= 0, 10**6, arrays[key]).astype(
        arrays[key].dtype)})  # fmt: skip
    with pytest.raises(ArtifactError, match="child node"):
        load_model(folder)


def test_publishing_replaces_an_artifact_with_sub_models_but_nothing_else(tmp_path):
    """`recsys train --out` over an earlier artifact replaces it; a file or folder the user
    put beside it makes the folder refused, before anything is written, and it is kept."""
    data = synthesize(3000, n_users=80, n_movies=60, seed=4)
    blend = make_model("gbm", base_models=("baseline", "mf"), folds=2, max_iter=5).fit(data)
    folder = publish_artifact(blend, data, tmp_path / "gbm")
    assert any(entry.is_dir() for entry in folder.iterdir())  # its base models' folders
    publish_artifact(blend, data, folder)  # an artifact and nothing else: replaced
    for extra in (folder / "NOTES.md", folder / "mine" / "f", folder / "base_.mf" / "x"):
        extra.parent.mkdir(exist_ok=True)
        extra.write_text("keep")
        with pytest.raises(ConfigError, match=f"not a recsys artifact .*{extra.name}"):
            publish_artifact(blend, data, folder)
        assert extra.read_text() == "keep"
        shutil.rmtree(extra.parent) if extra.parent != folder else extra.unlink()
