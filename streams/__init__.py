"""J9262 claim-line validator: Faust agents that explain why a line would be denied."""

__version__ = "0.1.0"
