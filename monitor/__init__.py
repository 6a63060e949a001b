"""rumour-monitor: track business and technology rumours through the news."""

__version__ = "0.1.0"
