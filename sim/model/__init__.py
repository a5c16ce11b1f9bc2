"""The model file: its parse, lever catalogue, compiled runner and units."""
