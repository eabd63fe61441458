import subprocess
import sys

from app.local.provision import LocalResources


def test_env_for_lets_boto3_find_region_and_endpoint_without_other_variables(
    local_resources: LocalResources,
) -> None:
    env = local_resources.env_for("transcoder")
    code = "import boto3; c = boto3.client('sqs'); print(c.meta.region_name, c.meta.endpoint_url)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["us-east-1", local_resources.endpoint_url]
