"""Many seeds, sweeps and tuning on Ray Tune (``lunar-sweep``, ``lunar-tune``).

The only part of the kit that imports ``ray`` or ``optuna`` (:mod:`lunar.sweep.engine`,
:mod:`lunar.sweep.tuning`, and the Ray workers' entry points), and only when a sweep runs:
``pip install -e ".[sweep]"``. :mod:`lunar.sweep.plan`, :mod:`lunar.sweep.trial` and
:mod:`lunar.sweep.stats` need neither.
"""
