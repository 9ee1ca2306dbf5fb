"""Why a role holds a grant the local loop never uses: the other half of ``infra/iam.py``.

``python -m pipelines iam-report`` compares the calls of a local run (IAM enforced) with the grants
in the templates; a grant no call used is over-broad unless this table says why AWS needs it. A key
is an action (every unused grant of it) or ``"<action> <resource pattern>"`` (only grants on a
matching resource). Plain data, no CDK import, so the report stays fast.
"""

from __future__ import annotations

_LOGS = "the Lambda runtime and SageMaker write logs to CloudWatch Logs as the role; locally logs are files"
_JOBS = (
    "SageMaker Pipelines polls, tags and stops the jobs it creates as the pipeline's role; the local "
    "executor runs them itself"
)
_TUNING = "prod tunes instead of training once (settings OVERRIDES); the dev loop trains one model"
_ECR = "SageMaker pulls the processing image from ECR as the job's role; locally this checkout's code runs"
_ON_FAILURE = (
    "Lambda sends a failed asynchronous invocation's record to the on-failure queue as the function's "
    "role; the loop has no failed invocation"
)
_TARGET_TRACKING = (
    "PutScalingPolicy (target tracking) creates, reads and deletes its CloudWatch alarms with the caller's "
    "permissions, and UpdateEndpoint's AutoRollbackConfiguration names alarms; the emulator's Application "
    "Auto Scaling and SageMaker create and read none"
)

_AUTOSCALING_CALLER = (
    "Application Auto Scaling registers and scales a SageMaker variant with the caller's permissions on "
    "the endpoint (Application Auto Scaling docs, 'Identity and access management': permissions for the "
    "target service); the emulator's Application Auto Scaling makes no call to SageMaker"
)
_NOT_FOUND_IS_404 = (
    "without s3:ListBucket S3 answers a missing object with 403 AccessDenied instead of 404 NoSuchKey "
    "(S3 API reference, GetObject 'Permissions'), so a wrong ModelDataUrl would read as a permission error"
)

_BATCH = (
    "the batch pipeline's transform job (pipelines/batch.py) runs in serving mode batch; "
    "`MLOPS_SERVING_MODE=batch pipelines demo` uses this grant, the other modes' loops never score in batch"
)

NOT_EXERCISED_LOCALLY: dict[str, str] = {
    "sagemaker:UpdateEndpointWeightsAndCapacities": _AUTOSCALING_CALLER,
    "logs:CreateLogGroup": _LOGS,
    "logs:CreateLogStream": _LOGS,
    "logs:PutLogEvents": _LOGS,
    "logs:DescribeLogStreams": _LOGS,
    "ecr:BatchGetImage": _ECR,
    "ecr:GetDownloadUrlForLayer": _ECR,
    "ecr:BatchCheckLayerAvailability": _ECR,
    "ecr:GetAuthorizationToken": _ECR,
    "sagemaker:DescribeProcessingJob": _JOBS,
    "sagemaker:StopProcessingJob": _JOBS,
    "sagemaker:DescribeTrainingJob": _JOBS,
    "sagemaker:StopTrainingJob": _JOBS,
    "sagemaker:AddTags": _JOBS,
    "sagemaker:DescribeTransformJob": _JOBS,
    "sagemaker:StopTransformJob": _JOBS,
    "sagemaker:CreateTransformJob": _BATCH,
    "s3:ListBucket arn:aws:s3:::*-data-*": _BATCH,
    "s3:GetObject arn:aws:s3:::*-data-*/batch/input/*": _BATCH,
    "s3:PutObject arn:aws:s3:::*-reports-*/batch/output/*": _BATCH,
    "sagemaker:CreateHyperParameterTuningJob": _TUNING,
    "sagemaker:DescribeHyperParameterTuningJob": _TUNING,
    "sagemaker:StopHyperParameterTuningJob": _TUNING,
    "sagemaker:ListTrainingJobsForHyperParameterTuningJob": _TUNING,
    "s3:GetBucketLocation": "SageMaker asks a bucket's region before it stages data; the emulator has one region",
    "s3:AbortMultipartUpload": "SageMaker aborts a failed multipart upload of a large output; the loop's are single-part",
    "s3:ListBucket arn:aws:s3:::*-artifacts-*": _NOT_FOUND_IS_404,
    "s3:ListBucket arn:aws:s3:::*-reports-*": "write access to a bucket includes listing it (bucket_access); "
    "no job reads reports back yet: a candidate to narrow",
    "s3:GetObject arn:aws:s3:::*-reports-*/*": "write access to a bucket includes reading it (bucket_access); "
    "no job reads reports back yet: a candidate to narrow",
    "kms:Encrypt": "SageMaker encrypts job volumes and outputs with the key when a job names it (KmsKeyId); "
    "S3's SSE-KMS, which the local cloud checks, needs only GenerateDataKey and Decrypt",
    "kms:DescribeKey": "SageMaker describes a key a job or endpoint names (KmsKeyId) before using it; the "
    "local executor encrypts no volume",
    "sqs:SendMessage": _ON_FAILURE,
    "sqs:GetQueueAttributes": _ON_FAILURE,
    "sqs:GetQueueUrl": _ON_FAILURE,
    "cloudwatch:PutMetricAlarm": _TARGET_TRACKING,
    "cloudwatch:DescribeAlarms": _TARGET_TRACKING,
    "cloudwatch:DeleteAlarms": _TARGET_TRACKING,
    "sts:AssumeRole": "the deploy function deploys to each deployment stage as that stage's deploy role "
    "(docs/multi-account.md); exercised by `demo` with MLOPS_STAGES only",
    "iam:CreateServiceLinkedRole": "the first RegisterScalableTarget in an account creates Application Auto "
    "Scaling's service-linked role; the emulator needs none",
}

# What a deployment stage's roles leave unused in `demo` with MLOPS_STAGES, which exercises their
# calls in the stage's emulated account (docs/multi-account.md); without stages they do not exist.
STAGE_ROLE_NOT_EXERCISED = (
    "a deployment stage's role: `demo` with MLOPS_STAGES exercises its calls; what stays unused is "
    "SageMaker's own work as the role (tagging what a Create call names, the endpoint's logs), which "
    "the local cloud does not do"
)
