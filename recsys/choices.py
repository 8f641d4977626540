"""Names the command line checks before it imports anything heavy: the models of
`recsys.models.registry.MODELS` with the types of their hyperparameters, and the splits of
`recsys.data.splits.SPLITS`.

A test keeps these equal to those; here they cost no import, so `recsys evaluate --model svd`
or `--param n_factors=abc` fails in milliseconds instead of after loading scikit-learn.
"""

MODEL_NAMES = (
    "global-mean", "baseline", "mf", "item-knn", "closest-raters", "gbm-seed", "gbm",
    "popular", "ease", "als", "item-cooc", "ranker",
)  # fmt: skip
_NUMBER, _INT_OR_NONE, _NUMBER_OR_NONE = (int, float), (int, type(None)), (int, float, type(None))
_BOOSTING = {
    "max_iter": int, "learning_rate": _NUMBER, "max_leaf_nodes": int, "min_samples_leaf": int,
    "l2_regularization": _NUMBER,
}  # fmt: skip
_SEED_FEATURES = {"era_default": _NUMBER, "max_candidates": _INT_OR_NONE, "random_state": int}

#: Each model's hyperparameters and the types a value may have (a float takes an int too).
MODEL_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "global-mean": {},
    "baseline": {"user_damping": _NUMBER, "item_damping": _NUMBER, "iterations": int},
    "mf": {
        "n_factors": int, "epochs": int, "learning_rate": _NUMBER, "regularization": _NUMBER,
        "bias_regularization": _NUMBER, "init_std": _NUMBER, "random_state": int,
    },
    "item-knn": {
        "k": int, "shrinkage": _NUMBER, "min_k": int, "user_damping": _NUMBER,
        "item_damping": _NUMBER,
    },
    "closest-raters": {"n": int, "shrinkage": _NUMBER, "max_candidates": _INT_OR_NONE},
    "gbm-seed": _BOOSTING | _SEED_FEATURES,
    "gbm": {"base_models": tuple, "folds": int, "blend_sample": _INT_OR_NONE}
    | _BOOSTING | _SEED_FEATURES,
    "popular": {"half_life_days": _NUMBER_OR_NONE},
    "ease": {"l2": _NUMBER, "max_items": int},
    "als": {
        "n_factors": int, "iterations": int, "alpha": _NUMBER, "regularization": _NUMBER,
        "cg_steps": int, "init_std": _NUMBER, "random_state": int,
    },
    "item-cooc": {"k": int, "block": int},
    "ranker": {
        "generators": tuple, "depth": int, "rating_model": str, "label_fraction": _NUMBER,
        "label_split": str, "label_rounds": int, "negative_fraction": _NUMBER,
        "relevant": _NUMBER,
    } | _BOOSTING | {"ensemble": int, "precompute": int, "random_state": int},
}  # fmt: skip
SPLIT_NAMES = ("seed1", "temporal", "random", "user-last", "kfold", "probe")
MAX_FOLDS = 100  # k-fold: each fold is a whole training, and its splits are held at once


def checked_params(names: list[str], params: dict) -> dict:
    """``params`` for every model in ``names``, checked by name and type without importing any
    model: a list or one text value for a tuple becomes a tuple. Raises `ConfigError`."""
    from recsys.errors import ConfigError

    unknown = [n for n in names if n not in MODEL_PARAMS]
    if not names or any(not n.strip() for n in names):
        raise ConfigError(f"give model names, comma-separated, e.g. baseline,mf (got {names!r})")
    if unknown:
        raise ConfigError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODEL_NAMES)}")
    checked = {}
    for key, value in params.items():
        for name in names:
            types = MODEL_PARAMS[name]
            if key not in types:
                takes = ", ".join(types) or "no parameters"
                raise ConfigError(f"{name} has no parameter {key!r} (it takes {takes})")
            if types[key] is tuple and isinstance(value, (str, list)):
                value = (value,) if isinstance(value, str) else tuple(value)
            if not isinstance(value, types[key]) or isinstance(value, bool):
                wanted = " or ".join(t.__name__ for t in _as_tuple(types[key]))
                raise ConfigError(f"{name}: {key}={value!r} should be {wanted}")
        checked[key] = value
    return checked


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)
