"""Many seeds, sweeps and tuning on Ray Tune (``lunar-sweep``, ``lunar-tune``).

The only part of the kit that imports ``ray`` or ``optuna`` (:mod:`lunar.commands.sweep.engine`,
:mod:`lunar.commands.sweep.tuning`, and the Ray workers' entry points), and only when a sweep runs:
``pip install -e ".[sweep]"``. :mod:`lunar.commands.sweep.plan`, :mod:`lunar.commands.sweep.trial` and
:mod:`lunar.commands.sweep.stats` need neither.
"""
