"""One module per workload; importing this package registers every workload."""

from harness.workloads import (  # noqa: F401 (importing a workload module registers it)
    broadcast,
    echo,
    g_counter,
    g_set,
    kafka,
    lin_kv,
    pn_counter,
    txn_list_append,
    txn_rw_register,
    unique_ids,
)
from harness.workloads.base import REGISTRY, Workload, register

__all__ = ["REGISTRY", "Workload", "register"]
