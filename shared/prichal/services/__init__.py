"""Use cases, one module per family. They take adapters as arguments and hold no state."""
