"""Entry-point runtime: one function body served under OpenFaaS and functions-framework alike."""
