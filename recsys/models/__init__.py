"""Every model on one contract (`recsys.models.base.Recommender`); `recsys.models.registry`
builds one by name."""
