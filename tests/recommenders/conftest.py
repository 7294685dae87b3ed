"""serve(experiments) -> a real botify service over HTTP (the Flask app in this process, so that
its chains can import test modules) on the small dataset loaded into the real Redis."""

from __future__ import annotations

import pytest

from botify.config import load_config
from botify.loader import load
from botify.store import connect
from tests.conftest import small_dataset, write_config
from tests.service.conftest import serve_app  # noqa: F401 (a fixture, used by serve)


@pytest.fixture
def serve(tmp_path, redis_url, serve_app):  # noqa: F811
    def start(experiments: list, **values):
        values.setdefault("data", small_dataset(tmp_path / "data"))
        config = load_config(
            write_config(
                tmp_path,
                redis_url=redis_url,
                log_dir=str(tmp_path / "log"),
                experiments=experiments,
                **values,
            )
        )
        client = connect(config["redis_url"])
        load(config, client, grace=0)
        client.close()
        return serve_app(config)

    return start
