"""Recommender classes written in the shape of the course's service (its constructor arguments,
its Redis reads, its pickled values, the global `random`), for tests of
botify.recommenders.course_adapter. Our own classes, not the course's."""
