"""Stage 3, running a rulebook: verdicts per case and rule.

``evaluate`` (one case → :class:`~policy_eval.run.result.CaseResult`),
``result`` (verdict values), ``batch`` (streams of records, worker processes),
``distributed`` (Dask), ``diff`` (impact of a revision), ``testing`` (policy
tests and coverage). Imports only from the rulebook, the language and the plugin host.
"""

__all__: list[str] = []
