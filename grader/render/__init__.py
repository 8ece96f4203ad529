"""Renderers turn a Report into text; they never run anything."""
