"""Strategies from users' reports, each expressed in config.json alone and served over HTTP."""

import requests

STRATEGY_1 = [  # item-to-item, random pick; straight to the fallbacks at a listen of 0.4 or less
    {"recommender": "contextual", "source": "i2i", "skip_at_or_below": 0.4},
    {"recommender": "indexed", "source": "ub"},
    {"recommender": "top_pop"},
    {"recommender": "sticky_artist"},
    {"recommender": "random"},
]
STRATEGY_2 = [  # the user's list in decreasing relevance, no repeats, then a random top-100 track
    {"recommender": "indexed", "source": "ub", "ranked": True, "no_repeat": True},
    {"recommender": "top_pop", "top_n": 100},
]
STRATEGY_3 = [  # ranked item-to-item; below a 0.1 listen user-based; then the first track's artist
    {"recommender": "contextual", "source": "i2i", "ranked": True, "skip_below": 0.1},
    {"recommender": "indexed", "source": "ub", "ranked": True, "name": "user_based"},
    {"recommender": "sticky_artist", "anchor": "session_first"},
]


def serve(loaded, serve_app, chain):
    config, _ = loaded(experiments=[{"name": "S", "arms": {"C": chain}}])
    return serve_app(config)


def post(server, user, track, time):
    answer = requests.post(f"{server.url}/next/{user}", json={"track": track, "time": time})
    assert answer.status_code == 200
    return answer.json()["track"], server.events()[-1]["recommender"]


def test_strategy_1_item_to_item_with_fallbacks_below_a_threshold(loaded, serve_app):
    server = serve(loaded, serve_app, STRATEGY_1)
    track, link = post(server, 3, 7, 0.41)
    assert link == "contextual" and track in {8, 9, 10, 11, 12}
    track, link = post(server, 3, 7, 0.4)  # 0.4 or less: the fallbacks
    assert link == "indexed" and track in set(range(3, 13))
    track, link = post(server, 500, 7, 0.2)  # unknown user: Indexed has nothing, TopPop answers
    assert link == "top_pop"


def test_strategy_2_user_list_in_order_without_repeats_then_top_100(loaded, serve_app):
    server = serve(loaded, serve_app, STRATEGY_2)
    prev, walk, links = 60, [], []
    for _ in range(12):
        prev, link = post(server, 4, prev, 1.0)
        walk.append(prev)
        links.append(link)
    assert walk[:10] == list(range(4, 14))  # user 4's list, best first
    assert links[:10] == ["indexed"] * 10 and links[10:] == ["top_pop", "top_pop"]
    assert len(set(walk[:10])) == 10 and set(walk[10:]) <= set(range(100))
    requests.post(f"{server.url}/last/4", json={"track": prev, "time": 1.0})
    assert post(server, 4, 60, 1.0) == (4, "indexed")  # a new session walks from the top again


def test_strategy_3_ranked_item_to_item_user_based_and_first_track_artist(loaded, serve_app):
    server = serve(loaded, serve_app, STRATEGY_3)
    assert post(server, 5, 22, 0.5) == (23, "contextual")  # ranked: 22's best neighbour
    assert post(server, 5, 23, 0.05) == (5, "user_based")  # below 0.1: user 5's best
    assert post(server, 500, 22, 0.5) == (23, "contextual")
    # An unknown user below 0.1: no user list, so the artist of the session's first track (22).
    track, link = post(server, 500, 23, 0.0)
    assert link == "sticky_artist" and track in {20, 21, 24}
