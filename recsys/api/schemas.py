"""Request and response bodies (apart from the domain objects in `recsys.service`).

The seed endpoints keep the MovieLens seed's shapes exactly — fields are only added.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from typing_extensions import TypedDict

from recsys.service.ids import INT64_MAX, INT64_MIN, MAX_ID_LENGTH

RawId = int | str


def _integral(value: object) -> int:
    """A JSON number with no fraction is an integer (JSON Schema's rule): 88.0 is 88."""
    if type(value) is float and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    raise ValueError("not an integer within int64")


# An id in a request body: a number within int64 or a short text (`recsys.service.ids`). Plain
# integers are checked by pydantic alone (no Python call per id); only floats such as 88.0 are.
BodyId = Annotated[
    Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
    | Annotated[str, Field(max_length=MAX_ID_LENGTH)]
    | Annotated[int, BeforeValidator(_integral)],
    WithJsonSchema({"anyOf": [
        {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX},
        {"type": "string", "maxLength": MAX_ID_LENGTH},
    ]}),
]  # fmt: skip


SCORE = ("the ranking model's score (the ranker: log-odds that the user rates the movie >= 4; "
         "a bare rating model: its predicted rating)")
PREDICTED = "the rating model's predicted rating of the movie for the user"


# -- the MovieLens seed's endpoints ----------------------------------------------------------
class SeedItem(BaseModel):
    id: str = Field(description="movie id, as a string (the seed's shape)")
    score: float | None = Field(None, description=SCORE)
    predicted_rating: float | None = Field(None, description=PREDICTED)


class SeedItemWithMetadata(BaseModel):
    id: RawId = Field(description="movie id, as a number (the seed's shape)")
    title: str | None
    genres: list[str]
    year: int | None = None
    score: float | None = Field(None, description=SCORE)
    predicted_rating: float | None = Field(None, description=PREDICTED)


class SeedRecommendations(BaseModel):
    items: list[SeedItem]
    fallback: bool = Field(False, description="true: popular movies for an unknown user")
    folded_in: bool = Field(False, description="true: ranked from ratings stored since training")


class SeedRecommendationsWithMetadata(BaseModel):
    items: list[SeedItemWithMetadata]
    fallback: bool = False
    folded_in: bool = Field(False, description="true: ranked from ratings stored since training")


class FeatureEntry(BaseModel):
    histories: list[RawId] = Field(description="ids of the movies the user rated, descending")


class Feature(BaseModel):
    feature: list[FeatureEntry]


# -- predicted ratings -----------------------------------------------------------------------
# Typed dicts, not models: validating 10,000 pairs this way is several times faster.
class Pair(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    user_id: BodyId
    movie_id: BodyId


class PredictionRequest(TypedDict):
    """Up to RECSYS_MAX_BATCH (default 10,000) pairs; more get 413."""

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    pairs: list[Pair]


class Prediction(BaseModel):
    user_id: RawId = Field(description="as the data set spells it (as given when unknown)")
    movie_id: RawId = Field(description="as the data set spells it (as given when unknown)")
    rating: float = Field(description="predicted rating, clipped to the data set's scale")
    fallback: bool = Field(
        description="true: the user or the movie is unknown, so the damped bias baseline "
        "(mean + known biases) gave the rating"
    )
    unknown: list[Literal["user", "movie"]] | None = Field(
        None,
        description="only for a pair with an id the model does not know (what GET "
        "/predictions/{user_id}/{movie_id} answers with 404): which of the two",
    )


class Predictions(BaseModel):
    predictions: list[Prediction]
    count: int


# -- the versioned API -----------------------------------------------------------------------
class Movie(BaseModel):
    id: RawId
    title: str | None
    year: int | None
    genres: list[str]
    ratings: int = Field(description="number of training ratings")
    mean_rating: float | None
    recommendable: bool = Field(description="the model can score it (it has ratings)")


class RankedMovie(BaseModel):
    id: RawId
    title: str | None
    year: int | None
    genres: list[str]
    score: float = Field(
        description="the ranking model's score (recommendations: for the ranker the log-odds "
        "that the user rates the movie >= 4), cosine similarity (similar movies) or number of "
        "ratings (popular movies and the popular fallback)"
    )
    predicted_rating: float | None = Field(None, description=PREDICTED)


class MovieList(BaseModel):
    items: list[RankedMovie]
    n: int
    offset: int
    total: int = Field(description="movies that passed the filters (for paging)")
    fallback: bool = Field(False, description="true: popular movies for an unknown user")
    folded_in: bool = Field(False, description="true: ranked from ratings stored since training")


class Neighbour(BaseModel):
    user_id: RawId
    distance: float = Field(
        description="SPEC §3: 3·s/c with c ≥ 3 common movies, else s + 3.5·(3 − c)"
    )
    common_movies: int
    rating: float | None = Field(None, description="their rating of the movie (with movie_id)")


class ClosestRaters(BaseModel):
    user_id: RawId
    movie_id: RawId | None
    raters: list[Neighbour]


class HistoryEntry(BaseModel):
    id: RawId
    title: str | None
    year: int | None
    genres: list[str]
    rating: float
    timestamp: int = Field(description="seconds since 1970-01-01 UTC")
    stored: bool = Field(
        False, description="written through the feedback API after the model was trained"
    )


class UserHistory(BaseModel):
    user_id: RawId
    total: int
    offset: int
    items: list[HistoryEntry]


class ModelInfo(BaseModel):
    model: str
    params: dict
    ranking: str | None = Field(
        None, description="'model': lists come from the model (kept from format 2, which also "
        "had 'bilinear')"
    )
    rating_model: str | None = Field(None, description="the model behind predicted ratings")
    scorer: str | None = Field(
        None, description="'model': predicted ratings come from the rating model (kept from "
        "format 2, which also had 'bilinear')"
    )
    trained_at: str | None
    data: dict = Field(description="training data: name, fingerprint, counts, date range")
    scale: dict
    metrics: dict = Field(description="hold-out evaluation metrics (empty when not evaluated)")
    recsys_version: str | None
    artifact: str | None
    users: int
    movies: int
    genres: list[str]


class Health(BaseModel):
    status: str
    model: str | None = None


class Error(BaseModel):
    detail: str
