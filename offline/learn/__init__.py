"""Learning from the logs the files the service loads (`botify train`): listens, top tracks,
item-to-item lists, per-user lists, their offline evaluation, and writing them atomically."""
