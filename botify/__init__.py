"""botify: a music recommendation service on Redis, split into A/B arms, logged."""

__version__ = "0.1.0"
