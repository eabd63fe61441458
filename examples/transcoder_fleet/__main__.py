"""An app developer's program: reelstack's TranscoderFleet inside another team's stack.

The team brings its own VPC and AMI (from config) and its own buckets and topic, and
gets a task queue with a DLQ, an alarm, a worker fleet that scales on tasks per worker from
zero, and an instance role scoped to exactly these buckets, queue and topic.
"""

import pulumi
import pulumi_aws as aws

from app.contracts.names import ResourceNames
from infra import BucketReference, MachineImage, Placement, Scaling, TranscoderFleet, TranscoderFleetArgs

config = pulumi.Config()
names = ResourceNames(f"lab-{pulumi.get_stack()}")

sources = aws.s3.Bucket("sources", bucket_prefix=f"{names.prefix}-sources-", tags={"owner": "video-lab"})
renditions = aws.s3.Bucket(
    "renditions", bucket_prefix=f"{names.prefix}-renditions-", tags={"owner": "video-lab"}
)
key = aws.kms.Key("progress-key", enable_key_rotation=True, tags={"owner": "video-lab"})
progress = aws.sns.Topic(
    "progress", name=names.progress_topic, kms_master_key_id=key.arn, tags={"owner": "video-lab"}
)

fleet = TranscoderFleet(
    "lab-transcoder",
    TranscoderFleetArgs(
        names=names,
        placement=Placement(
            vpc_id=config.require("vpcId"),
            vpc_cidr=config.require("vpcCidr"),
            subnet_ids=tuple(config.require_object("subnetIds")),
        ),
        image=MachineImage(ami_id=config.get("transcoderAmi")),
        uploads_bucket=BucketReference(name=sources.bucket, arn=sources.arn),
        media_bucket=BucketReference(name=renditions.bucket, arn=renditions.arn),
        progress_topic_arn=progress.arn,
        progress_topic_key_arn=key.arn,
        scaling=Scaling(instance_type="c7g.xlarge", min_size=0, max_size=3),
        ladder="720,480",
        owner="video-lab",
    ),
)

pulumi.export("task_queue_url", fleet.queue_url)
pulumi.export("dlq_url", fleet.dlq_url)
pulumi.export("worker_role_arn", fleet.instance_role_arn)
