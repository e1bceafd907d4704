from tests.hardening.world import actor_headers, fuzz_world, in_process_app  # noqa: F401
from tests.sharing.conftest import (  # noqa: F401
    association,
    client_for,
    make_item,
    make_resident,
    neighbourhood,
    period,
)
