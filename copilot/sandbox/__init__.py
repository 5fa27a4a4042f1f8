"""Sandboxes run experiment code; nothing else in copilot starts a subprocess for it."""
