"""The test helpers' ROS domain ids: never one another process holds."""

import subprocess
import sys

from hearth_common.testing import KEEP_CLAIMS, pick_domain_id


def test_a_domain_id_held_here_is_never_given_to_another_process():
    mine = [pick_domain_id() for _ in range(KEEP_CLAIMS)]
    assert len(set(mine)) == KEEP_CLAIMS
    other = subprocess.run(
        [sys.executable, "-c", "from hearth_common.testing import pick_domain_id as p; "
         "print(*[p() for _ in range(20)])"],
        capture_output=True, text=True, timeout=60, check=True)
    theirs = {int(x) for x in other.stdout.split()}
    assert len(theirs) == 20 and not theirs & set(mine)
