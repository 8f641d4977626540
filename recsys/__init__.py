"""recsys: a movie recommender for the MovieLens and Netflix Prize data sets."""

__version__ = "0.1.0"
