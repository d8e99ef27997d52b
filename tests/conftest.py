"""Suite-wide settings: one math thread per test process.

`make test` runs two pytest workers on a two-core machine; letting torch or BLAS start more
threads per worker oversubscribes the cores and makes torch-heavy tests many times slower.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
