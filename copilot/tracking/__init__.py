"""Observers of a run (the `Tracker` extension point): the protocol, `tracking=none`, and MLflow (`tracking=mlflow`)."""

from copilot.tracking.base import NoTracker, RunInfo, RunObserver, build_observers, build_trackers

__all__ = ["NoTracker", "RunInfo", "RunObserver", "build_observers", "build_trackers"]
