"""The dashboard's Flask app: one page, the JSON it refreshes itself from, and the registry.

    GET /                    the page (templates/dashboard.html; static/ holds its script and
                             style, served from here: nothing is fetched from elsewhere)
    GET /api/state           the state (lab.dashboard.state) of the dashboard's experiment;
                             ?experiment=NAME another experiment of the log (404 when the log
                             names no such experiment)
    GET /api/runs            following a runs folder: `botify runs`' table (markdown)
    GET /api/compare?a=A&b=B `botify runs compare A B` (markdown); runs named as botify runs
                             names them (id, id prefix, latest, -N)

Every error is JSON {"message": ...} with a 4xx status naming what was wrong.
"""

from __future__ import annotations

import re

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from lab.dashboard.source import RUNS
from lab.dashboard.state import Dashboard
from offline.logs.errors import InputError

NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")  # experiment names and run ids as asked for


def error(status: int, message: str):
    return jsonify(message=message), status


def create_app(dashboard: Dashboard) -> Flask:
    """The app serving `dashboard` (made from the command line's options by lab.dashboard.cli,
    or by a test)."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["dashboard"] = dashboard

    @app.errorhandler(HTTPException)
    def http_error(failure: HTTPException):
        return error(failure.code or 500, failure.description or failure.name)

    @app.get("/")
    def page():
        return render_template(
            "dashboard.html",
            refresh_ms=int(dashboard.refresh_seconds * 1000),
            runs=dashboard.source.kind == RUNS,
            paths=" ".join(dashboard.source.paths),
        )

    @app.get("/api/state")
    def state():
        experiment = request.args.get("experiment") or None
        if experiment is not None and not NAME.fullmatch(experiment):
            return error(400, f"experiment: not an experiment name: {experiment[:100]!r}")
        current = dashboard.state(experiment)
        if experiment is not None and experiment not in current["experiments"]:
            return error(404, current["message"] or f"no experiment {experiment!r}")
        return jsonify(current)

    @app.get("/api/runs")
    def runs():
        from lab.registry import listing, load_runs  # only for a runs folder

        if dashboard.source.kind != RUNS or dashboard.source.folder is None:
            return error(404, "not following a runs folder: give one (botify dashboard runs)")
        try:
            found = load_runs(dashboard.source.folder)
        except InputError as failure:
            return error(404, str(failure))
        return jsonify(markdown=listing(found), runs=[run.id for run in found], newest=found[-1].id)

    @app.get("/api/compare")
    def compare():
        from lab.registry import compare as compare_runs
        from lab.registry import find_run, load_runs
        from lab.runs import latest_id

        if dashboard.source.kind != RUNS or dashboard.source.folder is None:
            return error(404, "not following a runs folder: give one (botify dashboard runs)")
        names = [request.args.get("a", ""), request.args.get("b", "")]
        for key, name in zip("ab", names, strict=True):
            if not NAME.fullmatch(name):
                return error(400, f"{key}: give a run (id, id prefix, latest or -N), got {name!r}")
        folder = dashboard.source.folder
        try:
            found = load_runs(folder)
            a, b = (find_run(found, name, latest_id(folder)) for name in names)
        except InputError as failure:
            return error(404, str(failure))
        return jsonify(markdown=compare_runs(a, b), a=a.id, b=b.id)

    return app
