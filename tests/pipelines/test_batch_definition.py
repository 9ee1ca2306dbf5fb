"""The batch scoring pipeline: one uncached transform job over the input prefix, with the model the
settings name, its scores per execution and its capture where the monitoring pipeline reads."""

from __future__ import annotations

from pipelines import parameters as p
from pipelines import settings as settings_module
from pipelines.batch import SCORE
from pipelines.synth import render_pipelines
from tests.pipelines.synthesized import definition, rendered

DEV = settings_module.load("dev")


def test_parameters_default_to_the_batch_model_and_the_input_prefix():
    doc = definition("dev", "batch")
    assert {param["Name"]: param["DefaultValue"] for param in doc["Parameters"]} == {
        p.MODEL_NAME: DEV.batch_model_name,
        p.BATCH_INPUT_URI: DEV.batch_input_uri,
        p.TRANSFORM_INSTANCE_TYPE: DEV.serving.instance_type,
    }


def test_one_transform_step_scores_line_by_line_and_captures_for_the_monitoring_pipeline():
    [step] = definition("dev", "batch")["Steps"]
    assert (step["Name"], step["Type"]) == (SCORE, "Transform")
    assert "CacheConfig" not in step  # new input lands under the same prefix: never a cache hit
    args = step["Arguments"]
    assert args["ModelName"] == {"Get": f"Parameters.{p.MODEL_NAME}"}
    assert args["TransformInput"]["DataSource"]["S3DataSource"] == {
        "S3DataType": "S3Prefix",
        "S3Uri": {"Get": f"Parameters.{p.BATCH_INPUT_URI}"},
    }
    assert (args["TransformInput"]["SplitType"], args["BatchStrategy"]) == ("Line", "MultiRecord")
    assert args["TransformOutput"]["AssembleWith"] == "Line"
    assert args["TransformOutput"]["S3OutputPath"] == {
        "Std:Join": {"On": "/", "Values": [DEV.batch_output_uri, {"Get": "Execution.PipelineExecutionId"}]}
    }
    # The monitoring job reads <capture_uri>/<endpoint name>: the batch capture lands there.
    assert args["DataCaptureConfig"] == {"DestinationS3Uri": f"{DEV.capture_uri}/{DEV.endpoint_name}"}


def test_the_definition_is_the_same_on_every_render():
    again = render_pipelines(settings_module.load("dev"))[DEV.batch_pipeline_name]
    assert again == rendered("dev")[DEV.batch_pipeline_name]
