"""The course content: one sub-package per assignment, each defining ``ASSIGNMENT``.

``common`` holds what several assignments share (the layer-spec language,
activations, the numpy convolution the property checks use).
"""
