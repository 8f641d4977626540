"""recsys: a movie recommender for the MovieLens and Netflix Prize data sets.

The notebook API (`recsys.experiment`) is here too, loaded on first use so that
``import recsys`` stays cheap: ``recsys.load``, ``recsys.make``, ``recsys.evaluate``,
``recsys.cross_validate``, ``recsys.repeat`` and the split functions.
"""

__version__ = "0.1.0"

_EXPERIMENT = (
    "load", "make", "evaluate", "cross_validate", "repeat", "summarize", "paired_test",
    "make_splits", "temporal_split", "random_split", "seed1_split", "user_last_split",
    "kfold_splits", "split_from_files", "Split",
)  # fmt: skip

__all__ = ["__version__", *_EXPERIMENT]


def __getattr__(name: str):
    if name in _EXPERIMENT:
        from recsys import experiment

        return getattr(experiment, name)
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPERIMENT])
