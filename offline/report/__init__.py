"""Judging an experiment from its logs: arms, the course's user-level metrics, the statistics
(Welch, CUPED, Holm, sequential tests), the serving account, charts and the report
(`botify ab`); planning an experiment's size (`botify plan`); off-policy estimates of a chain
before it is served (`botify ope`)."""
