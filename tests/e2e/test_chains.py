"""Chains of three parallelisms (see chains.py), a sample in `make test`: SAMPLE chains in each
mode (stop with a savepoint; kill -9 and --resume), each with the file pass-through and the
self-checking job, every row or event exactly once. RILL_E2E_SEED fixes which chains and where
the stops and kills land (the seed is printed); `make chaos` runs all 64 chains. The fixed
chains that once failed are in test_savepoints (test_rescale_chains_read_each_row_once)."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chains  # noqa: E402
import rill_e2e  # noqa: E402
from rill_e2e import Failure, main  # noqa: E402

SAMPLE = 3


def sample(mode):
    rng = rill_e2e.seeded_rng("chains, " + mode)
    picked = rng.sample(chains.CHAINS, SAMPLE)
    results, failures = chains.run_chains(picked, [mode], chains.JOBS, rng,
                                          lambda text: print(text, flush=True))
    if failures:
        raise Failure("%d of %d chain runs failed:\n%s" % (
            len(failures), len(results), "\n".join(failures)))


def test_chains_savepoint(tmp):
    sample("savepoint")


def test_chains_kill(tmp):
    sample("kill")


if __name__ == "__main__":
    main([test_chains_savepoint, test_chains_kill], need_jobs=True)
