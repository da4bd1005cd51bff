"""Reference documentation generated from the code, written between markers and checked by a test.

As terraform-docs does for Terraform modules (`terraform-docs markdown --output-file README.md
--output-mode inject`, and `--output-check` to fail when the file is stale), each generated part
lives between a `<!-- BEGIN GENERATED: <part> -->` and an `<!-- END GENERATED: <part> -->` line in
a hand-written page; everything outside the markers is left as it is. `make docs` rewrites the parts,
`python -m tools.docs --check` (and tests/test_generated_docs.py) fails when one is out of date.
"""
