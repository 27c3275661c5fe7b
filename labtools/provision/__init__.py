"""Setting up and diagnosing the lab environment: a kind cluster with Istio, Bookinfo and the addons.

    pipeline    `labtools up` / `down`: ordered, idempotent, resumable steps reporting through a Reporter
    diagnose    `labtools status` and `labtools doctor` (every known failure mode, each with its fix)
    components  the samples the labs use (settings.COMPONENTS), applied from the cached Istio release
    release     the Istio release archive: download, checksum, cache, istioctl
    kind, istio, readiness, gateway, preflight, dashboards: the pieces the steps are made of

Nothing here prints or exits: progress goes to a Reporter (model.py), problems are LabtoolsErrors or Findings.
"""
