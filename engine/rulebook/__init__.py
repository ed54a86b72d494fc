"""Stage 2, the rulebook: policy files and case records as data.

Input: a policy folder (YAML files, one per policy version, with positions) and
the case JSON Schemas beside it; case files (JSON, JSON Lines). Output: a
:class:`Rulebook` of checked, compiled policy versions, and validated case dicts.
Imports only from :mod:`policy_eval.lang`, :mod:`policy_eval.errors`,
:mod:`policy_eval.resources` and the plugin host.

Modules: ``yamlload`` (YAML with positions; ``yamlpos`` the positions,
``yamlerrors`` the messages), ``policy/`` (one policy file to compiled rules,
one module per section of the format; ``policy.versions`` the versions of a
policy together), ``loader`` (a folder to a :class:`Rulebook`; ``policyfiles`` the files
that look like mistyped policies), ``casefiles`` (case inputs as files and streams: folders, gzip,
encodings), ``jsonrecord`` (one case record read exactly), ``cases`` (case readers), ``schemacheck``
(case schemas checked at load), ``schemaregex`` (schema patterns on RE2), ``schemacompile`` (a case
schema compiled to one yes/no check), ``validation`` (case validation against the schemas), ``ruletable``
(the rule table in docs/rules.md).
"""

from policy_eval.rulebook.loader import (
    PolicyHistory,
    Rulebook,
    find_schema_dir,
    load_case_schemas,
    load_rulebook,
    policy_files,
)

__all__ = ["Rulebook", "PolicyHistory", "load_rulebook", "find_schema_dir", "policy_files", "load_case_schemas"]
