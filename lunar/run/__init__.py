"""The run's machinery: its state in one value (:mod:`.state`), checkpoints, the output folder, its
lock, resuming, when to stop, and a learner's code trained in the kit's loop."""
