"""The optional SageMaker Model Monitor data-quality schedule (``monitoring.model_monitor_schedule_enabled``).

The project's own drift engine (the monitoring pipeline's Processing job) is the default monitor:
Model Monitor is closed to new AWS customers. Accounts that still have it can run AWS's analyzer as
well, hourly, against the same baseline. A job definition takes one fixed baseline URI while the
project registers a baseline per model package, so it points at ``settings.current_baseline_uri``,
which the deploy function keeps on the package the endpoint serves (``infra/lambdas/deploy.py``).
"""

from __future__ import annotations

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.lambdas.deploy import CURRENT_BASELINE_FILES
from pipelines.settings import JOB_ROLE, Settings
from processing_scripts import contract

MONITORING_TYPE = "DataQuality"
VOLUME_SIZE_GB = 30  # the SDK's default for monitoring jobs; capture for an hour is small
# A monitoring job must finish before the next hourly run starts; one hour is Model Monitor's limit.
MAX_RUNTIME_SECONDS = 3600


class ModelMonitorSchedule(Construct):
    """``CfnDataQualityJobDefinition`` + ``CfnMonitoringSchedule`` for the project's endpoint."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, key_arn: str) -> None:
        super().__init__(scope, construct_id)
        mon = settings.monitoring
        # No name attribute exists on the L1, so the name is set here and passed to the schedule.
        self.job_definition_name = f"{settings.monitoring_schedule_name}-job"
        baseline = settings.current_baseline_uri
        self.job_definition = sagemaker.CfnDataQualityJobDefinition(
            self,
            "JobDefinition",
            job_definition_name=self.job_definition_name,
            endpoint_name=settings.endpoint_name,
            role_arn=settings.role_arn(JOB_ROLE),
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=settings.model_monitor_image_uri,
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=f"{baseline}/{CURRENT_BASELINE_FILES['Statistics']}"
                ),
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=f"{baseline}/{CURRENT_BASELINE_FILES['Constraints']}"
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=settings.endpoint_name,
                    local_path=contract.ModelMonitor.ENDPOINT_INPUT,
                    s3_data_distribution_type="FullyReplicated",
                    s3_input_mode="File",
                )
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=key_arn,
                monitoring_outputs=[
                    sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path=contract.ModelMonitor.OUTPUT,
                            s3_uri=f"{settings.reports_uri}/model-monitor",
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=mon.instance_type,
                    volume_size_in_gb=VOLUME_SIZE_GB,
                    volume_kms_key_id=key_arn,
                )
            ),
            network_config=sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
                enable_inter_container_traffic_encryption=True,
                vpc_config=sagemaker.CfnDataQualityJobDefinition.VpcConfigProperty(
                    security_group_ids=list(settings.isolation.security_group_ids),
                    subnets=list(settings.isolation.subnet_ids),
                )
                if settings.isolation.vpc
                else None,
            ),
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=MAX_RUNTIME_SECONDS
            ),
        )
        self.schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Schedule",
            monitoring_schedule_name=settings.monitoring_schedule_name,
            endpoint_name=settings.endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition_name,
                monitoring_type=MONITORING_TYPE,
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=mon.model_monitor_schedule_expression
                ),
            ),
        )
        # The schedule names the job definition by a plain string, so CloudFormation needs the order.
        self.schedule.add_dependency(self.job_definition)
