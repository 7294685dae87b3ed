"""`botify dashboard`: a web page that follows an experiment from its logs as events arrive,
showing botify ab's numbers on the events read so far (docs/dashboard.md)."""
