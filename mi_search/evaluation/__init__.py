"""The evaluation core: decoding settings, generation graded into scores, metrics, grading, stage labels."""
