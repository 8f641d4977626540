"""What the service serves, from the settings: a trained artifact, or a data set trained on
at start-up (and cached for the next start), or the built-in demo data."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import recsys
from recsys.config import Settings
from recsys.errors import ArtifactError, ConfigError, RecsysError
from recsys.service.artifact import META_FILE, check_destination, publish_artifact
from recsys.service.recommendations import Recommendations

log = logging.getLogger(__name__)

DEMO = "demo"


def load_service(settings: Settings) -> Recommendations:
    """RECSYS_MODEL: load that artifact. Else RECSYS_DATA (or the demo data when unset): load a
    cached artifact trained on the same data with the same model, or train one and cache it."""
    if settings.model is not None:
        log.info("loading the model artifact %s", settings.model)
        return Recommendations.load(settings.model)
    data = settings.data or DEMO
    folder = artifact_cache(settings) / f"{settings.train_model}-{source_key(data)}"
    if (folder / META_FILE).is_file():
        try:
            service = Recommendations.load(folder)
            log.info("loaded the cached artifact %s", folder)
            return service
        except ArtifactError as error:
            log.warning("retraining: the cached artifact is unusable (%s)", error)
    return Recommendations.load(train_artifact(data, settings.train_model, folder))


def artifact_cache(settings: Settings) -> Path:
    """Where artifacts trained at start-up are kept: RECSYS_ARTIFACT_CACHE, else
    ~/.cache/recsys/artifacts."""
    return settings.artifact_cache or Path.home() / ".cache" / "recsys" / "artifacts"


def source_key(data: str) -> str:
    """A key of a data source that changes when its content may have: the demo generator's
    code, or the files' names, sizes and modification times (cheap: nothing is read)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(recsys.__version__.encode())
    if data == DEMO:
        from recsys.data import synthetic

        digest.update(Path(synthetic.__file__).read_bytes())
        return f"demo-{digest.hexdigest()}"
    path = Path(data).expanduser()
    if not path.exists():
        raise ConfigError(f"RECSYS_DATA {data!r}: no such file or folder")
    path = path.resolve()
    digest.update(str(path).encode())
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return f"{path.name}-{digest.hexdigest()}"


def train_artifact(
    data: str,
    model_name: str,
    folder: Path,
    *,
    evaluate: bool = True,
    load_options: dict | None = None,
    **params,
) -> Path:
    """Load ``data`` (a path, or "demo"; ``load_options`` go to `load`), fit ``model_name`` on
    all of it, and save the artifact to ``folder`` (written beside it, then renamed, so a reader
    never sees half of one). With ``evaluate``, the metrics of the same model on a random 90/10
    split go with it."""
    from recsys.data.loading import load_or_demo
    from recsys.models.registry import make_model

    folder = check_destination(folder)
    try:
        dataset = load_or_demo(data, **(load_options or {}))
        log.info("training %s on %s (%s ratings)", model_name, data, f"{dataset.n_ratings:,}")
        model = make_model(model_name, **params).fit(dataset)
        metrics = _evaluate(dataset, model_name, params) if evaluate else None
    except RecsysError:
        raise
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot train {model_name} on {data}: {error}") from error
    folder = publish_artifact(model, dataset, folder, metrics)
    log.info("wrote the artifact to %s", folder)
    return folder


def _evaluate(dataset, model_name: str, params: dict) -> dict:
    """Scalar hold-out metrics (RMSE, MAE, ranking at 10) on a seeded random split."""
    from recsys.evaluation.protocols import evaluate

    result = evaluate(
        dataset, "random", [model_name], params={model_name: params}, test_fraction=0.1, seed=0
    )
    scores = result["models"][model_name]
    metrics = {k: v for k, v in scores.items() if isinstance(v, int | float) and v is not None}
    return {"protocol": "random 90/10 split, seed 0", **metrics}
