// An app developer's TypeScript program: reelstack's TranscoderFleet in the team's own VPC,
// draining into the team's own buckets and progress topic. With the Pulumi CLI:
//   cd examples/transcoder_fleet_ts
//   npm install
//   pulumi package add ../..      # generates the @pulumi/reelstack SDK from the plugin's schema
//   pulumi stack init example
//   pulumi config set aws:region eu-west-1
//   pulumi config set vpcId vpc-0123456789abcdef0
//   pulumi config set vpcCidr 10.20.0.0/16
//   pulumi config set --path 'subnetIds[0]' subnet-0aaaaaaaaaaaaaaaa
//   pulumi config set --path 'subnetIds[1]' subnet-0bbbbbbbbbbbbbbbb
//   pulumi preview
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as reelstack from "@pulumi/reelstack";

const config = new pulumi.Config();
const prefix = `lab-${pulumi.getStack()}`;
const tags = { owner: "video-lab" };

const sources = new aws.s3.Bucket("sources", { bucketPrefix: `${prefix}-sources-`, tags });
const renditions = new aws.s3.Bucket("renditions", { bucketPrefix: `${prefix}-renditions-`, tags });
const progressKey = new aws.kms.Key("progress-key", { enableKeyRotation: true, tags });
const progress = new aws.sns.Topic("progress", { name: `${prefix}-progress`, kmsMasterKeyId: progressKey.arn, tags });

const fleet = new reelstack.TranscoderFleet("lab-transcoder", {
    names: { prefix },
    placement: {
        vpcId: config.require("vpcId"),
        vpcCidr: config.require("vpcCidr"),
        subnetIds: config.requireObject<string[]>("subnetIds"),
    },
    uploadsBucket: { name: sources.bucket, arn: sources.arn },
    mediaBucket: { name: renditions.bucket, arn: renditions.arn },
    progressTopicArn: progress.arn,
    progressTopicKeyArn: progressKey.arn,
    scaling: { instanceType: "c7g.xlarge", minSize: 0, maxSize: 3 },
    ladder: "720,480",
    owner: "video-lab",
});

export const taskQueueUrl = fleet.queueUrl;
export const dlqUrl = fleet.dlqUrl;
export const workerRoleArn = fleet.instanceRoleArn;
