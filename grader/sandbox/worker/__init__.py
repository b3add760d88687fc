"""Code that runs inside the sandbox. Only ``wire`` is imported by the grader itself."""
