from __future__ import annotations

from infra.database import database_url
from tests.infra.graph import Graph

DB = ("aws:rds/instance:Instance", "db-db")


def test_database_url_names_user_host_and_database_but_no_password() -> None:
    url = database_url("reelstack", "h.example", 5432, "reelstack")
    assert url == "postgresql+psycopg://reelstack@h.example:5432/reelstack?sslmode=require"


def test_database_is_private_encrypted_and_rds_manages_its_password(dev: Graph, prod: Graph) -> None:
    for graph in (dev, prod):
        db = graph.one(*DB).inputs
        assert db["publiclyAccessible"] is False
        assert db["storageEncrypted"] is True
        assert db["manageMasterUserPassword"] is True
        assert "password" not in db
        assert db["engine"] == "postgres"


def test_database_lives_in_the_private_subnets(prod: Graph) -> None:
    group = prod.one("aws:rds/subnetGroup:SubnetGroup", "db-subnets").inputs
    assert sorted(group["subnetIds"]) == [f"net-private-{i}-id" for i in range(3)]


def test_prod_database_is_multi_az_protected_and_backed_up_for_a_week(prod: Graph) -> None:
    db = prod.one(*DB)
    assert db.inputs["multiAz"] is True
    assert db.inputs["deletionProtection"] is True
    assert db.inputs["backupRetentionPeriod"] >= 7
    assert db.inputs["skipFinalSnapshot"] is False
    assert db.protect is True


def test_dev_database_is_small_and_disposable(dev: Graph) -> None:
    db = dev.one(*DB)
    assert db.inputs["multiAz"] is False
    assert db.inputs["deletionProtection"] is False
    assert db.inputs["skipFinalSnapshot"] is True
    assert db.inputs["instanceClass"] == "db.t4g.micro"
    assert db.protect is False


def test_only_the_backend_instances_may_connect(prod: Graph) -> None:
    group = prod.one("aws:ec2/securityGroup:SecurityGroup", "db-sg").inputs
    assert group.get("ingress", []) == []
    rules = prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [(r.name, r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in rules] == [
        ("db-from-backend", "backend-instances-id", 5432)
    ]
    assert prod.component_of(rules[0]) == prod.one("reelstack:index:Database", "db")


def test_database_parameter_group_forces_tls(prod: Graph) -> None:
    params = prod.one("aws:rds/parameterGroup:ParameterGroup", "db-params").inputs["parameters"]
    assert [(p["name"], p["value"]) for p in params] == [("rds.force_ssl", "1")]
