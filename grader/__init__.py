"""Auto-grader for the mathematics of deep learning."""
