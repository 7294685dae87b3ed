"""The listener page's Flask app: an application factory, as in Flask's tutorial.

    GET  /                       the page: start a session (a user id, a random unused one
                                 offered), the sessions open and ended here, the counts
    POST /sessions               {"user": int} -> the session started, its first answer playing
    GET  /sessions/<user>        the session's page: the track playing, how much was listened
    POST /sessions/<user>/next   {"time": float} -> the service's next track plays
    POST /sessions/<user>/last   {"time": float} -> the session ended

Each POST takes a JSON body (answered in JSON) or the page's form (answered by a redirect to the
page to show, or the page again with the message). Bad input is a 4xx with {"message": ...}
naming what was wrong; a service that fails (down, 4xx, 503 overloaded, garbage) is a 502 whose
message is the service's own; plain HTML and CSS, no script, nothing from a CDN."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from lab.listener.inputs import BadInput, parse_time, parse_user
from lab.listener.service_client import ServiceError
from lab.listener.sessions import Listener, Session

log = logging.getLogger(__name__)

SERVICE_FAILED = 502  # the listener's upstream, the botify service, failed
# The page's buttons: what the person says, and the fraction the simulator would send for it.
LISTENED = (("Skipped", 0.0), ("A quarter", 0.25), ("Half", 0.5), ("All of it", 1.0))


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def json_answer(payload: dict, status: int) -> BaseResponse:
    response = jsonify(payload)
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def session_json(listener: Listener, session: Session) -> dict:
    arms = session.arms
    return {
        "user": session.user,
        "first": {**listener.describe(session.first), "time": 1.0},
        "plays": [{**listener.describe(play.track), "time": play.time} for play in session.plays],
        "playing": listener.describe(session.playing),
        "arms": arms.by_experiment if arms else None,
        "routing": arms.routing if arms else None,
        "open": listener.is_open(session),
    }


def field(name: str) -> object:
    """A field of the JSON body or of the page's form; None when absent."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadInput(f"body: expected a JSON object with {name!r}")
        return body.get(name)
    return request.form.get(name)


def create_app(listener: Listener) -> Flask:
    app = Flask(__name__)
    app.extensions["listener"] = listener
    app.jinja_env.globals["plural"] = plural
    n_users = listener.world.n_users

    def home(message: str | None = None, status: int = 200, user: object = None) -> BaseResponse:
        if user is None:
            user = request.args.get("user") or listener.suggest_user()
        ended = listener.ended_sessions()
        just_ended = None
        if request.args.get("ended"):  # this visitor's own session, among everyone's
            mine = [session for session in ended if str(session.user) == request.args.get("user")]
            just_ended = mine[0] if mine else None
        page = render_template(
            "home.html",
            service=listener.client.url,
            service_problem=listener.client.alive(timeout=2.0),
            user=user,
            n_users=n_users,
            open_sessions=listener.open_sessions(),
            ended_sessions=ended,
            just_ended=just_ended,
            catalog_problem=listener.catalog_problem(),
            counts=listener.counts,
            message=message,
            describe=listener.describe,
        )
        return Response(page, status)

    def session_page(
        session: Session, message: str | None = None, status: int = 200
    ) -> BaseResponse:
        page = render_template(
            "session.html",
            service=listener.client.url,
            session=session,
            describe=listener.describe,
            listened=LISTENED,
            message=message,
        )
        return Response(page, status)

    def failed(error: BadInput | ServiceError, shown: Session | None) -> BaseResponse:
        status = error.status if isinstance(error, BadInput) else SERVICE_FAILED
        if wants_json():
            return json_answer({"message": error.message}, status)
        if shown is not None:
            return session_page(shown, error.message, status)
        return home(error.message, status, user=request.form.get("user"))

    def answered(session: Session, status: int = 200) -> BaseResponse:
        if wants_json():
            return json_answer(session_json(listener, session), status)
        if listener.is_open(session):
            return redirect(url_for("show", user=session.user), 303)
        return redirect(url_for("index", user=session.user, ended=1), 303)

    @app.get("/")
    def index() -> BaseResponse:
        return home()

    @app.post("/sessions")
    def start() -> BaseResponse:
        try:
            user = parse_user(field("user"), n_users)
            return answered(listener.start(user), 201)
        except (BadInput, ServiceError) as error:
            return failed(error, None)

    @app.get("/sessions/<user>")
    def show(user: str) -> BaseResponse:
        try:
            return session_page(listener.session(parse_user(user, n_users)))
        except BadInput as error:
            return failed(error, None)

    def step(user: str, act) -> BaseResponse:
        shown = None
        try:
            user_id = parse_user(user, n_users)
            shown = listener.session(user_id)
            return answered(act(user_id, parse_time(field("time"))))
        except (BadInput, ServiceError) as error:
            return failed(error, shown)

    @app.post("/sessions/<user>/next")
    def next_track(user: str) -> BaseResponse:
        return step(user, listener.listen)

    @app.post("/sessions/<user>/last")
    def last_track(user: str) -> BaseResponse:
        return step(user, listener.end)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> BaseResponse:
        status = error.code or 500
        if wants_json() or request.method != "GET":
            return json_answer({"message": error.description}, status)
        return home(error.description, status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> BaseResponse:
        log.exception("the listener failed")
        message = "internal error of the listener (its terminal has the details)"
        return json_answer({"message": message}, 500)

    return app
