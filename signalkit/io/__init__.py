"""signalkit package."""
