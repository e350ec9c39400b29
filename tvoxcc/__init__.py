"""tvoxcc: an open-source omnichannel contact center built around Asterisk."""

__version__ = "0.1.0"
