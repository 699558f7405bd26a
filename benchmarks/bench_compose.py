"""Composing a sweep's configs: the suite's config cache (``cached://`` sources, each config file
read and parsed once per run) against Hydra's own file and package sources
(``SPARSITY_LAB_CONFIG_CACHE=0``), in this process, interleaved, CPU seconds (the machine is
shared; CPU time moves less with its load than wall time)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from benchmarks._timing import met, verdict

#: CPU of the composition with the cache over without, at most
TARGET = 0.85
TINY = ["dataset=diabetes", "model=lasso", "grid.num=5", "seed=" + ",".join(map(str, range(20)))]
SWEEPS = {"l1_vs_l2 (33 jobs)": ["experiment=l1_vs_l2"], "20 tiny jobs": TINY}
REPEAT = 5


def compose_cpu(overrides: list[str], cache: bool) -> float:
    """CPU seconds of a sweep's compositions as the suite's sweeper makes them: the multirun's
    primary config, then Hydra's ``load_sweep_config`` for each job, in a fresh Hydra instance
    (a run's cache starts empty)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sparsity_lab import sweeper
    from sparsity_lab.paths import config_dir, register_resolvers

    register_resolvers()
    os.environ["SPARSITY_LAB_CONFIG_CACHE"] = "1" if cache else "0"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            args = [*overrides, f"results_dir={tmp}"]
            start = time.process_time()
            with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
                loader = GlobalHydra.instance().config_loader()
                primary = loader.load_configuration("config", args, run_mode=RunMode.MULTIRUN)
                node = primary.hydra.sweeper.params
                params = {} if node is None else OmegaConf.to_container(node)
                for job in sweeper.expand(params, args, loader):
                    loader.load_sweep_config(primary, job)
            return time.process_time() - start
    finally:
        del os.environ["SPARSITY_LAB_CONFIG_CACHE"]


def main() -> bool:
    ok = True
    compose_cpu(SWEEPS["20 tiny jobs"], cache=True)  # imports and Hydra's plugin scan, once
    for name, overrides in SWEEPS.items():
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(REPEAT):
            for cache in (False, True):
                times[cache].append(compose_cpu(overrides, cache))
        hydra, cached = statistics.median(times[False]), statistics.median(times[True])
        ratio = cached / hydra
        print(
            f"{name}: composing every config {hydra:.2f} CPU s with Hydra's sources, "
            f"{cached:.2f} with the cache: {ratio:.2f}x {verdict(ratio, TARGET)} "
            f"(median of {REPEAT}, interleaved)"
        )
        ok = ok and met(ratio, TARGET)
    return ok
