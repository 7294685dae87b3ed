"""Offline tools: read botify's event logs after the fact and judge an experiment (`botify ab`)."""
