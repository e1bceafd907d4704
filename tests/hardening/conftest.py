from tests.hardening.world import actor_headers, fuzz_world, in_process_app  # noqa: F401
