"""The auditor's toolkit: rebuild every history from events, check it, follow recalls, verify
reports against their on-chain hashes.

    report = run_audit(rpc_url, deployment, policy=load_policy(path))
    report.passed; render_json(report); render_csv(report); render_html(report)

Modules: `rebuild` (histories, genealogy, role history), `checks` (the rules, one replay),
`policy` (the configurable release and recall policy), `impact` (recall impact), `documents`
(files vs on-chain hashes), `views` (the contract's views in JSON-RPC batches), `run` (the
whole audit), `report` (JSON, CSV) and `html` (the report for people).
"""

from milktrace.audit.checks import CHECKS, check_state, run_checks
from milktrace.audit.policy import DEFAULT_POLICY, Policy, load_policy, policy_from_dict
from milktrace.audit.rebuild import rebuild
from milktrace.audit.run import AuditReport, analyse, resolve_batch, run_audit

__all__ = [
    "CHECKS",
    "DEFAULT_POLICY",
    "AuditReport",
    "Policy",
    "analyse",
    "check_state",
    "load_policy",
    "policy_from_dict",
    "rebuild",
    "resolve_batch",
    "run_audit",
    "run_checks",
]
