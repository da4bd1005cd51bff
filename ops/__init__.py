"""Operations CLI for the AI Subsidy System: `python -m ops --help`.

Disaster recovery (`ops dr`), incident response (`ops incident`) and GitOps deploys (`ops deploy`).
Every name, region, bucket and identifier comes from the environment spec through
`envspec.naming`; nothing is derived by hand here. Anything destructive is a dry run unless
`--execute` is given.
"""
