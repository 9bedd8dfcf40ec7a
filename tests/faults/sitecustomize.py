"""Loads the fault-injecting layer (``blueheart_faults``) into every Python process of a run
started with ``BLUEHEART_FAULT_STATE`` set; anything else starts as usual."""

import os

if os.environ.get("BLUEHEART_FAULT_STATE"):
    import blueheart_faults

    blueheart_faults.install()
