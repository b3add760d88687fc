"""Renderers: terminal, HTML, JSON, CSV, JUnit and Gradescope. None of them computes a score."""
