"""Deadlines ahead of time: when each verdict on an open case changes if nothing happens.

``solve`` (candidate instants derived exactly from a condition's datetime sub-expressions),
``forecast`` (the next change per rule, found by evaluating at the candidates), ``model``
(forecast records and their JSON). Method and limits: docs/due.md.
"""

from policy_eval.run.due.forecast import CLOCK_FIELDS, Forecaster
from policy_eval.run.due.model import CaseForecast, Forecast, Status
from policy_eval.run.due.solve import Candidate, Solver, Unsolvable

__all__ = ["Forecaster", "CLOCK_FIELDS", "CaseForecast", "Forecast", "Status", "Candidate", "Solver", "Unsolvable"]
