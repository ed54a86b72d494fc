"""The bundled rulebook's policy tests (golden cases), installed as policy_eval.golden so that
``policy-eval test`` can check an installed rulebook; the YAML files are package data."""
