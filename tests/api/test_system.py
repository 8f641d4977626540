"""Health, the model description, Prometheus metrics and the OpenAPI docs."""

from __future__ import annotations

from recsys.api.app import create_app


def test_health(client):
    assert client.get("/health/live").json() == {"status": "live"}
    assert client.get("/health/ready").json() == {"status": "ready", "model": "mf"}


def test_not_ready_before_start_up():
    from fastapi.testclient import TestClient

    client = TestClient(create_app())  # no `with`: the lifespan has not run
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 503
    assert client.get("/recommendations/1").status_code == 503


def test_model_info_names_the_model_data_and_metrics(client, dataset, artifact):
    body = client.get("/v1/model").json()
    assert body["model"] == "mf" and body["rating_model"] == "mf"
    assert body["params"]["n_factors"] == 16
    assert body["data"]["fingerprint"] == dataset.fingerprint
    assert body["data"]["ratings"] == len(dataset.ratings)
    assert body["trained_at"] and body["metrics"]["rmse"] == 0.9
    assert body["artifact"] in (None, artifact.name)
    assert str(artifact.parent) not in client.get("/v1/model").text
    assert body["scale"] == dataset.scale.to_dict()


def test_metrics_count_requests_by_route_and_status(client):
    client.get("/recommendations/1")
    client.get("/recommendations/999999")
    text = client.get("/metrics").text
    assert 'route="/recommendations/{user_id}",status="200"' in text
    assert 'route="/recommendations/{user_id}",status="404"' in text
    assert "recsys_http_request_duration_seconds_bucket" in text
    assert 'recsys_model_info{fingerprint="' in text
    assert "process_resident_memory_bytes" in text


def test_docs_describe_every_endpoint_and_its_errors(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        "/recommendations/{user_id}", "/feature/{user_id}", "/predictions/{user_id}/{movie_id}",
        "/predictions", "/v1/users/{user_id}/recommendations", "/v1/users/{user_id}/closest-raters",
        "/v1/users/{user_id}/history", "/v1/movies/popular", "/v1/movies/{movie_id}",
        "/v1/movies/{movie_id}/similar", "/v1/model", "/health/live", "/health/ready", "/metrics",
        "/v1/users", "/v1/movies", "/v1/users/{user_id}/ratings",
        "/v1/users/{user_id}/ratings/{movie_id}", "/v1/admin/model",
    }  # fmt: skip
    assert set(paths) == expected
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("summary"), path
            if method != "post" and ("{user_id}" in path or "{movie_id}" in path):
                assert {"404", "422"} <= set(operation["responses"]), path
    assert "413" in paths["/predictions"]["post"]["responses"]
    writes = [paths["/v1/users/{user_id}/ratings"]["post"], paths["/v1/admin/model"]["post"]]
    assert all({"401", "403", "422"} <= set(w["responses"]) for w in writes)
    body = paths["/predictions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/PredictionRequest")
    assert "PredictionRequest" in schema["components"]["schemas"]
