"""Connecting to Ray: the import, a cluster's address and resources, with one clear error each.

Shared by the Ray engine (runs as tasks) and the Ray executor (evaluations as tasks), so neither
imports the other.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from harness.errors import ConfigError, NashError


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the Ray engine needs the ray package: pip install 'nasbench-harness[ray]' "
            "(or pip install 'ray>=2.9')"
        ) from None
    return ray


def check_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast, with one clear line, when a cluster's GCS address cannot be reached."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"--address {address!r} is not HOST:PORT (the head node's GCS address, e.g. "
            "10.0.0.1:6379, as printed by `ray start --head`), 'auto' or ray://HOST:PORT"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address}: {e.strerror or e}; start one with "
            "`ray start --head` on the head node, or check the address and firewall"
        ) from None


def check_ray_resources(ray: Any, *, gpus: float = 0.0, cpus: float = 1.0) -> None:
    """Refuse tasks that ask for more than any node of the cluster has (they would hang)."""
    total = ray.cluster_resources()
    have_gpu, have_cpu = float(total.get("GPU", 0.0)), float(total.get("CPU", 0.0))
    if gpus > 0 and gpus > have_gpu:
        raise ConfigError(
            f"each evaluation asks for {gpus:g} GPU(s) but the Ray cluster has {have_gpu:g}; "
            "set gpus_per_eval = 0 for CPU training, or add GPU nodes to the cluster"
        )
    if cpus > have_cpu:
        raise ConfigError(
            f"each task asks for {cpus:g} CPU(s) but the Ray cluster has {have_cpu:g}"
        )


def ray_init(ray: Any, address: str | None, num_cpus: int | None) -> bool:
    """Connect to ``address`` or start a local instance; True when we started it."""
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local instance
    try:
        if address:
            check_address(address)
            ray.init(address=address, **kw)
            return False
        ray.init(num_cpus=num_cpus, **kw)
        return True
    except NashError:
        raise
    except Exception as e:
        msg = str(e)
        if "version" in msg.lower() and "mismatch" in msg.lower():
            raise ConfigError(ray_version_hint(msg)) from None
        if address:
            raise ConfigError(
                f"could not connect to the Ray cluster at {address}: {first_line(e)}"
            ) from None
        raise


def ray_version_hint(message: str) -> str:
    """One line for Ray's version-mismatch error: which versions, and what to do."""
    import platform

    ray = import_ray()
    first = message.strip().splitlines()[0] if message.strip() else "version mismatch"
    return (
        f"Ray version mismatch between this driver (ray {ray.__version__}, Python "
        f"{platform.python_version()}) and the cluster: {first}; install the cluster's Ray "
        "version here (pip install 'ray==<cluster version>') or start the cluster with this one"
    )


def first_line(e: BaseException) -> str:
    """An exception as one short line (a failed run's ``failed.json`` records it)."""
    text = f"{type(e).__name__}: {e}"
    return text.splitlines()[0][:500]
