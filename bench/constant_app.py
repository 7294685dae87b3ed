"""The yardstick: a Flask + flask-restful app that answers /next with a constant, served under
the same gunicorn settings as botify (bench/service.py)."""

from flask import Flask
from flask_restful import Api, Resource


class NextTrack(Resource):
    def post(self, user: int):
        return {"user": user, "track": 1}


def create_app() -> Flask:
    app = Flask(__name__)
    Api(app).add_resource(NextTrack, "/next/<int:user>")
    return app


app = create_app()
