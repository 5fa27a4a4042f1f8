"""Converters from other benchmarks' task folders into copilot tasks (`problems/<task>/` + `workspaces/<task>/`)."""
