"""Judging an experiment from its logs: arms, the course's user-level metrics, the statistics
(Welch, CUPED, Holm, sequential tests), the serving account, charts and the report
(`botify ab`, in two steps: `aggregate`, the one step that reads events, on an engine
(`polars_engine`, or Spark's), then the statistics on its rows); planning an experiment's size
(`botify plan`); off-policy estimates of a chain before it is served (`botify ope`)."""
