"""Silver bookkeeping of shared_lib.incremental (rows not processed yet, duplicates, accounting)
and the consent seam of shared_lib.consent, on tiny hand-built DataFrames."""


from __future__ import annotations

import pytest

from shared_lib import incremental


def test_tally_rejects_an_unknown_outcome():
    with pytest.raises(ValueError, match="unknown outcome"):
        incremental.tally(None, {"dropped": None})
