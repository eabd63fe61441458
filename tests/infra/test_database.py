from __future__ import annotations

import pytest

from app.contracts.names import ResourceNames
from infra.database import DatabaseArgs, database_url, min_storage_ceiling_gib
from infra.types import Placement
from pulumi_offline.graph import Graph

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


def test_storage_autoscaling_ceiling_is_at_least_10_percent_above_the_allocation(
    dev: Graph, prod: Graph
) -> None:
    """AWS rule: the maximum storage threshold must be at least 10 % more than the allocated
    storage (1000 GiB allocated: at least 1100 GiB), else RDS answers "Invalid max storage
    size"; AWS recommends 26 % or more. Source: Amazon RDS User Guide, "Managing capacity
    automatically with Amazon RDS storage autoscaling",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
    (``MaxAllocatedStorage`` of CreateDBInstance refers to it). moto accepts an equal pair.
    """
    for graph in (dev, prod):
        db = graph.one(*DB).inputs
        assert db["maxAllocatedStorage"] * 10 >= db["allocatedStorage"] * 11
    assert prod.one(*DB).inputs["allocatedStorage"] == 100


def test_the_derived_storage_ceiling_leaves_room_above_any_allocation() -> None:
    for allocated in (20, 100, 1000, 6000):
        ceiling = _args(allocated_storage_gib=allocated).storage_ceiling_gib
        assert ceiling >= min_storage_ceiling_gib(allocated) and ceiling * 100 >= allocated * 126
    assert min_storage_ceiling_gib(1000) == 1100
    assert min_storage_ceiling_gib(101) == 112  # rounded up: 111.1 GiB would be refused


def test_a_storage_ceiling_too_close_to_the_allocation_is_refused_naming_both_keys() -> None:
    """Same rule and source as above: AWS refuses a ceiling less than 10 % above the allocation."""
    with pytest.raises(ValueError, match=r"max_allocated_storage_gib.*allocated_storage_gib") as refused:
        _args(allocated_storage_gib=100, max_allocated_storage_gib=100)
    assert "at least 110" in str(refused.value)
    with pytest.raises(ValueError, match="max_allocated_storage_gib"):
        _args(allocated_storage_gib=1000, max_allocated_storage_gib=1099)
    assert _args(allocated_storage_gib=1000, max_allocated_storage_gib=1100).storage_ceiling_gib == 1100


def _args(allocated_storage_gib: int, max_allocated_storage_gib: int | None = None) -> DatabaseArgs:
    return DatabaseArgs(
        names=ResourceNames("reelstack-test"),
        placement=Placement(vpc_id="vpc-1", vpc_cidr="10.0.0.0/16", subnet_ids=("a", "b")),
        allocated_storage_gib=allocated_storage_gib,
        max_allocated_storage_gib=max_allocated_storage_gib,
    )
