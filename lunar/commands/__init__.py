"""The command lines over the package: ``train.py`` and ``evaluate.py`` (:mod:`.cli`), ``lunar-doctor``,
``lunar-sweep`` and ``lunar-tune`` (:mod:`.sweep`), the Hub package and videos."""
