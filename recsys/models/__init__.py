"""Every model on one contract (`recsys.models.base.Recommender`); `make(name, **params)` builds
one by name."""


def make(name: str, **params):
    """A fresh model by name, with hyperparameters as keywords (`recsys.models.registry`)."""
    from recsys.models.registry import make_model

    return make_model(name, **params)
