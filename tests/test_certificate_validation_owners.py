"""Each ACM DNS-validation record has exactly one owner among an environment's stacks.

The rule (ACM User Guide, "DNS validation", https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html):
each validation CNAME is "created specifically for your domain and your account", and "since the CNAME validation
token works for any AWS Region, you can re-create the same certificate in multiple Regions". The primary's
certificate (ap-northeast-1) and the standby's (ap-northeast-3) therefore ask for the *same* record for every name
they share. Two stacks managing one record means destroying or changing either deletes the record the other's
certificate renews with ("ACM automatically renews your certificate as long as ... your CNAME record remains in
place", same page).

The Terraform AWS provider's `aws_acm_certificate_validation` refuses to finish when a validation option's record
name (trailing dot trimmed) is not in `validation_record_fqdns` ("missing <name> DNS validation record";
hashicorp/terraform-provider-aws, internal/service/acm/certificate_validation.go, v5 series), so the standby's
validation must still list every name, its own record's and the shared ones'.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from envspec.naming import names_for
from tests.conftest import ENVIRONMENTS, SPECS, STACK_IDS, Synthesis, only, only_item, require_binary, resources_of

STANDBY = [env for env in ENVIRONMENTS if SPECS[env].dr.has_standby]
HOSTS = re.compile(r'"([^"]+)"')


def _validation_records(stack: dict[str, Any]) -> dict[str, list[str]]:
    """Route 53 records written from a certificate's validation options: logical id -> the names they validate."""
    found = {}
    for logical_id, record in resources_of(stack, "aws_route53_record").items():
        if "domain_validation_options" in str(record.get("name", "")):
            found[logical_id] = HOSTS.findall(record["for_each"])
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_validation_record_has_exactly_one_owning_stack(env: str, synthesis: Synthesis) -> None:
    owners: dict[str, list[str]] = {}
    for stack_id in (stack for stack in STACK_IDS if stack.startswith(f"{env}-")):
        for hosts in _validation_records(synthesis.stack(stack_id)).values():
            for host in hosts:
                owners.setdefault(host, []).append(stack_id)
    assert owners, "no validation records at all"
    shared = {host: stacks for host, stacks in owners.items() if len(stacks) != 1}
    assert not shared, f"validation records managed by several stacks: {shared}"
    names = names_for(SPECS[env])
    assert set(owners) == set(names.ingress_hosts) | (set(names.standby.ingress_hosts) if SPECS[env].dr.has_standby else set())
    if SPECS[env].dr.has_standby:
        assert owners[names.standby.origin_host] == [f"{env}-dr-edge"]
        assert {owners[host][0] for host in names.ingress_hosts} == {f"{env}-edge"}


@pytest.mark.parametrize("env", STANDBY)
def test_the_standby_certificate_still_waits_on_every_one_of_its_names(env: str, synthesis: Synthesis) -> None:
    stack = synthesis.stack(f"{env}-dr-edge")
    certificate_id, certificate = only_item(resources_of(stack, "aws_acm_certificate"))
    names = {certificate["domain_name"], *certificate["subject_alternative_names"]}
    ((record_id, own),) = _validation_records(stack).items()
    fqdns = only(resources_of(stack, "aws_acm_certificate_validation"))["validation_record_fqdns"]
    # Its own records' FQDNs (an explicit dependency on them) ...
    assert f"[for record in aws_route53_record.{record_id} : record.fqdn]" in fqdns
    # ... and the shared names' record names, read from this certificate's own validation options, which ACM
    # makes identical to the primary's.
    shared = re.search(
        rf"\[for option in aws_acm_certificate\.{certificate_id}\.domain_validation_options : "
        r'trimsuffix\(option\.resource_record_name, "\."\) if contains\(\[([^\]]*)\], option\.domain_name\)\]',
        fqdns,
    )
    assert shared, fqdns
    shared_hosts = HOSTS.findall(shared.group(1))
    assert set(own) | set(shared_hosts) == names and not set(own) & set(shared_hosts)
    primary_own = {host for hosts in _validation_records(synthesis.stack(f"{env}-edge")).values() for host in hosts}
    assert set(shared_hosts) <= primary_own, "a shared name must be validated by a record the primary's edge stack owns"


@pytest.mark.parametrize("env", STANDBY)
def test_the_standbys_former_records_are_forgotten_not_destroyed(env: str, synthesis: Synthesis) -> None:
    """Before this design the standby wrote every name's record under the same resource address the primary's stack
    uses (same construct path, same cdktf logical id). Shrinking that resource's `for_each` would make Terraform
    destroy the shared records; a `removed` block with `lifecycle { destroy = false }` (Terraform 1.7 and later,
    language documentation, "Remove a resource": the resource leaves the state and stays in place) forgets them."""
    ((primary_record_id, _),) = _validation_records(synthesis.stack(f"{env}-edge")).items()
    (removed,) = synthesis.stack(f"{env}-dr-edge")["removed"]
    assert removed == {"from": f"aws_route53_record.{primary_record_id}", "lifecycle": {"destroy": False}}
    assert primary_record_id not in resources_of(synthesis.stack(f"{env}-dr-edge"), "aws_route53_record")


def _terraform(terraform: str, directory: Path, *args: str) -> str:
    environment = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": str(directory / "cli.tfrc")}
    done = subprocess.run([terraform, *args], cwd=directory, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _plan_actions(terraform: str, directory: Path, config: dict[str, Any]) -> dict[str, list[str]]:
    (directory / "main.tf.json").write_text(json.dumps(config), encoding="utf-8")
    _terraform(terraform, directory, "plan", "-input=false", "-out=plan")
    shown = json.loads(_terraform(terraform, directory, "show", "-json", "plan"))
    return {change["address"]: change["change"]["actions"] for change in shown.get("resource_changes", [])}


@pytest.mark.parametrize("env", STANDBY[:1])
def test_terraform_forgets_the_former_records_and_would_have_destroyed_them(env: str, synthesis: Synthesis, tmp_path: Path) -> None:
    """The real Terraform (1.11 here), on the synthesized `removed` block and the standby's record keys, with the
    built-in `terraform_data` standing in for `aws_route53_record` (same addresses, no AWS needed): a state holding
    the former resource's three records plans `forget` for all of them and `create` for the new one; the same change
    without the block plans `delete` for the records the primary's certificate renews with."""
    terraform = require_binary("terraform", "install terraform (see docs/TOOLING)")
    stack = synthesis.stack(f"{env}-dr-edge")
    (removed,) = stack["removed"]
    former = removed["from"].removeprefix("aws_route53_record.")
    ((record_id, own),) = _validation_records(stack).items()
    hosts = list(names_for(SPECS[env]).standby.ingress_hosts)

    def records(logical_id: str, keys: list[str]) -> dict[str, Any]:
        keyed = ", ".join(f'"{key}"' for key in keys)
        return {"terraform_data": {logical_id: {"for_each": f"${{toset([{keyed}])}}", "input": "${each.value}"}}}

    (tmp_path / "cli.tfrc").write_text("", encoding="utf-8")
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": records(former, hosts)}), encoding="utf-8")
    _terraform(terraform, tmp_path, "init", "-input=false")
    _terraform(terraform, tmp_path, "apply", "-auto-approve", "-input=false")

    now = {"resource": records(record_id, own), "removed": [{**removed, "from": f"terraform_data.{former}"}]}
    actions = _plan_actions(terraform, tmp_path, now)
    assert {address: action for address, action in actions.items() if address.startswith(f"terraform_data.{former}[")} == {
        f'terraform_data.{former}["{host}"]': ["forget"] for host in hosts
    }
    assert actions[f'terraform_data.{record_id}["{names_for(SPECS[env]).standby.origin_host}"]'] == ["create"]
    without = _plan_actions(terraform, tmp_path, {"resource": records(record_id, own)})
    assert without[f'terraform_data.{former}["{SPECS[env].dns.frontend_host}"]'] == ["delete"]
