"""A student's homework on botify: the recommender under test (recommender.py) and its config."""
