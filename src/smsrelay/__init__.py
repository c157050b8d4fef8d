"""smsrelay: a self-hosted bulk SMS gateway."""

__all__ = ["__version__"]

__version__ = "0.1.0"
