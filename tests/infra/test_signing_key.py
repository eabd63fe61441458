from __future__ import annotations

import pytest

from app.contracts.names import ResourceNames
from infra.signing_key import SigningKey, SigningKeyArgs
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program


def test_ticket_key_is_a_random_secret_of_at_least_32_characters(prod: Graph) -> None:
    """HS256 needs "a key of the same size as the hash output (for instance, 256 bits for
    "HS256") or larger" (RFC 7518, section 3.2: https://www.rfc-editor.org/rfc/rfc7518#section-3.2)."""
    password = prod.one("random:index/randomPassword:RandomPassword", "ticket-key").inputs
    assert password["length"] >= 32
    secret = prod.one("aws:secretsmanager/secret:Secret", "ticket-key").inputs
    assert secret["name"] == "reelstack-prod/events-ticket-key"


def test_a_key_shorter_than_the_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        SigningKeyArgs(ResourceNames("reelstack-test"), length=16)


def test_signer_and_verifiers_read_the_one_key(prod: Graph) -> None:
    """The backend signs, the progress service and the distribution's function verify: one secret."""
    key = prod.outputs_of(prod.one("reelstack:index:SigningKey", "ticket"))
    for role in ("backend-policy", "progress-policy"):
        reads = {
            arn
            for s in prod.role_policy(role)["Statement"]
            if "secretsmanager:GetSecretValue" in s["Action"]
            for arn in s["Resource"]
        }
        assert key["secret_arn"] in reads
    entry = prod.one("aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey", "site-grant-key").inputs
    version = prod.one("aws:secretsmanager/secretVersion:SecretVersion", "ticket-key").inputs
    assert entry["value"] == version["secretString"]


@pytest.mark.parametrize(
    "former",
    [
        "random:index/randomPassword:RandomPassword::progress-ticket-key",
        "aws:secretsmanager/secret:Secret::progress-ticket-key",
        "aws:secretsmanager/secretVersion:SecretVersion::progress-ticket-key",
    ],
)
def test_pulumi_up_moves_the_key_from_progress_instead_of_replacing_it(prod: Graph, former: str) -> None:
    """Without an alias naming its former URN a resource whose parent changed is replaced
    (https://www.pulumi.com/docs/iac/concepts/options/aliases/): a new random key would void
    every ticket and grant, and a deleted secret remains, restorable, until the end of its
    recovery window ("The minimum recovery window is 7 days": Secrets Manager DeleteSecret,
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html), its
    name with it, so a replacement of the same name could not be created meanwhile."""
    type_ = former.split("::")[0]
    expected = f"urn:pulumi:prod::reelstack::reelstack:index:ProgressService${former}"
    assert expected in prod.one(type_, "ticket-key").aliases


def test_a_new_program_declares_no_former_parent() -> None:
    graph = Graph.of(run_program(lambda: SigningKey("key", SigningKeyArgs(ResourceNames("reelstack-test")))))
    assert [r.aliases for r in graph.resources if r.custom] == [(), (), ()]
