"""Helpers shared by several assignments."""
