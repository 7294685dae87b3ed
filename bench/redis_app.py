"""The yardstick with Redis: a Flask + flask-restful app that answers /next with a constant after
the Redis round trips botify's own request makes for the config's routing experiment (its
chain's reads, and the user's state kept), with no chain run and no event logged. Served under
the same gunicorn settings as botify by bench/service.py:

    gunicorn 'bench.redis_app:create_app("config.json")' ...

Between it and the constant app (bench/constant_app.py) lies the cost of Redis; between it and
botify, the cost of the chains and the event log."""

from __future__ import annotations

from flask import Flask, request
from flask_restful import Api, Resource

from botify.config import load_config
from botify.data import DataView, Listen
from botify.experiments import build_experiments
from botify.store import RedisStore

IN_FLIGHT = 1000  # gunicorn's worker_connections under gevent, as botify serve sizes its pool


def create_app(config_path: str) -> Flask:
    config = load_config(config_path)
    store = RedisStore.for_config(config, IN_FLIGHT)
    data = DataView(store)
    experiments = build_experiments(config, data)

    class NextTrack(Resource):
        def post(self, user: int):
            body = request.get_json(force=True)
            track, listened = int(body["track"]), float(body["time"])
            chain, _ = experiments.assign(user)
            listen = Listen(user, track, listened, chain.state)
            with data.request(chain.reads(user, track, listened), listen):
                pass
            store.recommended(user, 1, chain.state)
            return {"user": user, "track": 1}

    app = Flask(__name__)
    Api(app).add_resource(NextTrack, "/next/<int:user>")
    return app
