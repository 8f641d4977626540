"""Names the command line checks before it imports anything heavy: the models of
`recsys.models.registry.MODELS` and the splits of `recsys.data.splits.SPLITS`.

A test keeps these equal to those; here they cost no import, so `recsys evaluate --model svd`
fails in milliseconds instead of after loading scikit-learn.
"""

MODEL_NAMES = (
    "global-mean", "baseline", "mf", "item-knn", "closest-raters", "gbm-seed", "gbm",
    "popular", "ease", "als", "item-cooc", "ranker",
)  # fmt: skip
SPLIT_NAMES = ("seed1", "temporal", "random", "user-last", "kfold", "probe")
