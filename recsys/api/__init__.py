"""The HTTP API over `recsys.service` (FastAPI): app factory, routers, schemas, errors.

A request's matrix-vector product is small; a multi-threaded BLAS only adds hand-offs and, on a
busy machine, spinning threads that cost milliseconds. So the service runs its BLAS on one
thread: set here, before NumPy loads when the API is imported first, and again at start-up
(`recsys.api.app.limit_blas_threads`) for when it was not.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
