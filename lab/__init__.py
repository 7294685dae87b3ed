"""The lab: what ties botify's parts together. The `botify` command line, the day loop of
`botify experiment`, the in-process simulated day, synthetic logs for tests and benchmarks, and
starting and stopping Redis and the service. It stands on offline/ and sim/, which stand on
botify/; nothing below imports it."""
