"""Offline tools: everything that reads botify's event logs after the fact.

- `offline.logs`: finding, reading and sessionising the logs (shared by the two jobs below).
- `offline.report`: judging an experiment: `botify ab`, `botify plan`, `botify ope`.
- `offline.learn`: learning the recommendation files the service loads: `botify train`.

`report` and `learn` stand on `logs` and on `botify`, never on each other.
"""
