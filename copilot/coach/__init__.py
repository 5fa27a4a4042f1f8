"""Coaching for models that need it, as one optional component (`coach=` config group): see `copilot.coach.base`."""

from copilot.coach.base import Coach, FiringLog, NoCoach, ProposedAction, Repair

__all__ = ["Coach", "FiringLog", "NoCoach", "ProposedAction", "Repair"]
