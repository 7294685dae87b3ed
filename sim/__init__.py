"""Synthetic listeners for botify: a generated world, a user model, a Gymnasium environment,
agents that recommend to it (the service over HTTP among them) and the runner that drives them."""

import os

# The simulator's numpy work is many small matrix-vector products, for which BLAS threads cost
# more than they give; on a machine shared with the service they wait for a core and make each
# product 10-30x slower. Effective only when numpy is not imported yet (python -m sim.run and
# botify sim import this first); an explicit setting in the environment wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
