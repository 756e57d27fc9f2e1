"""milktrace: farm-to-shelf traceability for infant milk on an EVM chain."""

__version__ = "0.1.0"
