"""mi-search: search the interpolation between an Instruct and a Thinking model."""

__version__ = "0.1.0"
