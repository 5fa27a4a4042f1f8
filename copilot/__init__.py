"""copilot: from a machine-learning paper to hypotheses, a plan, executed experiments and numbers you can trust."""

__version__ = "0.1.0"
