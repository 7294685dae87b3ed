"""Recommenders and the chains that combine them."""

from botify.recommenders.base import Recommender, pick
from botify.recommenders.builtin import (
    Contextual,
    HistoryI2I,
    Indexed,
    Random,
    Replay,
    SessionArtists,
    StickyArtist,
    TopPop,
)
from botify.recommenders.chain import BUILTIN, Chain, Link, build_chain, recommender_class
from botify.recommenders.course_i2i import CourseI2I

__all__ = [
    "BUILTIN",
    "Chain",
    "Contextual",
    "CourseI2I",
    "HistoryI2I",
    "Indexed",
    "Link",
    "Random",
    "Recommender",
    "Replay",
    "SessionArtists",
    "StickyArtist",
    "TopPop",
    "build_chain",
    "pick",
    "recommender_class",
]
