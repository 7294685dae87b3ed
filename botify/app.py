"""The HTTP service: an application factory, as in Flask's tutorial. Nothing happens at import.

Endpoints (the course's four, exactly compatible, plus two):
  GET  /                 -> {"status": "alive", "message": ...}
  GET  /track/<track>    -> the catalog's record of the track; 404 if unknown
  POST /next/<user>      {"track": int, "time": float} -> {"user": int, "track": int}
  POST /last/<user>      {"track": int, "time": float} -> {"user": int}
  GET  /healthz          -> 200 when Redis answers and a data version is loaded, else 503
  GET  /experiments      -> the experiments, their arms and each arm's recommender chain

Every error is JSON {"message": ...}: 4xx naming what was wrong, 503 when Redis is unreachable
or no data is loaded; a rejected request changes no state and logs no event.
"""

from __future__ import annotations

import logging
import time

import redis
import ujson
from flask import Flask, make_response, request
from flask_restful import Api, Resource
from werkzeug.exceptions import HTTPException

from botify.config import Config, redis_url
from botify.data import DataView, NoData
from botify.eventlog import EventLog
from botify.experiments import build_experiments
from botify.service import Service
from botify.store import RedisStore, connect
from botify.validation import BadInput, parse_id, parse_listen

log = logging.getLogger(__name__)


def error(status: int, message: str):
    return {"message": message}, status


def guarded(handler):
    """Turn the service's known failures into JSON answers, never a 500 with a traceback."""

    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except BadInput as bad:
            return error(bad.status, bad.message)
        except NoData as missing:
            return error(503, str(missing))
        except redis.RedisError as outage:
            return error(503, f"Redis is unavailable: {outage}")

    wrapper.__name__ = handler.__name__
    return wrapper


class Hello(Resource):
    def get(self):
        return {"status": "alive", "message": "welcome to botify, the best toy music recommender"}


class ServiceResource(Resource):
    """A resource of the running service: its decisions (`service`) and its Redis (`store`)."""

    def __init__(self, service: Service, store: RedisStore):
        self.service = service
        self.store = store


class Track(ServiceResource):
    @guarded
    def get(self, track: str):
        record = self.store.track_record(parse_id(track, "track"))
        if record is None:
            return error(404, f"track: {track} is not in the catalog")
        return record


class Listen(ServiceResource):
    """POST /next and /last: a user's listen of a track; `answer` is the service's method."""

    answer = ""

    @guarded
    def post(self, user: str):
        started = time.perf_counter()
        user_id = parse_id(user, "user")
        track, listened = parse_listen(request.get_data(cache=False))
        return getattr(self.service, self.answer)(user_id, track, listened, started)


class NextTrack(Listen):
    answer = "next"


class LastTrack(Listen):
    answer = "last"


class Health(ServiceResource):
    def get(self):
        try:
            snapshot = self.store.current_snapshot()
        except NoData as missing:
            return error(503, str(missing))
        except redis.RedisError as outage:
            return error(503, f"Redis is unavailable: {outage}")
        return {"status": "ok", "version": snapshot.version, "tracks": len(snapshot.catalog)}


class Experiments(ServiceResource):
    def get(self):
        return self.service.experiments.describe()


class JsonApi(Api):
    """flask-restful with every error as {"message": ...} (also 404s, 405s, 413s)."""

    def handle_error(self, e):
        if isinstance(e, HTTPException):
            return self.make_response({"message": e.description}, e.code)
        log.exception("unexpected error")
        return self.make_response({"message": "internal error"}, 500)


def create_app(config: Config, store: RedisStore | None = None, events: EventLog | None = None):
    """The Flask app for `config`. Pass `store` or `events` to share them (tests, in-process)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config["max_body_bytes"]
    if store is None:
        client = connect(redis_url(config), timeout=config["redis_timeout_seconds"])
        store = RedisStore(
            client,
            namespace=config["namespace"],
            history_length=config["history_length"],
            history_ttl=config["history_ttl_seconds"],
            session_ttl=config["session_ttl_seconds"],
            version_check_seconds=config["version_check_seconds"],
        )
    if events is None:
        events = EventLog(
            config.path(config["log_dir"]), config["log_max_bytes"], config["log_backups"]
        )
    data = DataView(store)
    service = Service(store, data, build_experiments(config, data), events)
    app.extensions["botify"] = service

    api = JsonApi(app, catch_all_404s=True)

    @api.representation("application/json")
    def output_json(payload, code, headers=None):
        response = make_response(ujson.dumps(payload, ensure_ascii=False), code)
        response.headers.extend(headers or {})
        response.mimetype = "application/json"
        return response

    kwargs = {"resource_class_kwargs": {"service": service, "store": store}}
    api.add_resource(Hello, "/")
    api.add_resource(Track, "/track/<track>", **kwargs)
    api.add_resource(NextTrack, "/next/<user>", **kwargs)
    api.add_resource(LastTrack, "/last/<user>", **kwargs)
    api.add_resource(Health, "/healthz", **kwargs)
    api.add_resource(Experiments, "/experiments", **kwargs)
    return app
