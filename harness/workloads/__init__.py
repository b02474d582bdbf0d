"""One module per workload; importing this package registers every workload."""

from harness.workloads import broadcast, echo, g_counter, kafka, txn_rw_register, unique_ids  # noqa: F401 (register)
from harness.workloads.base import REGISTRY, Workload, register

__all__ = ["REGISTRY", "Workload", "register"]
