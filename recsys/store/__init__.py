"""The durable rating store: ratings written over HTTP, in SQLite (default) or PostgreSQL,
with change numbers a follower polls. See `recsys.store.ratings`."""

from recsys.store.ratings import RatingStore, StoredRating, Upserted, open_store

__all__ = ["RatingStore", "StoredRating", "Upserted", "open_store"]
