"""What a run and a model report: the console lines, TensorBoard scalars, the learning curve, named
symptoms, the course's reference band, and a model's greedy score."""
