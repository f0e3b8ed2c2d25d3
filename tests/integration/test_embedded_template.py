"""How the embedded stand-in reads template.yaml: intrinsics, names, parameters, EventBridge patterns.

Pure (no server): the resolver, the function specs and the pattern matcher the stand-in is built on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devkit.stand_in import matches
from devkit.template import StackContext, StackTemplate, Unresolvable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

SMALL: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Types": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Image": {"Type": "String", "Default": ""},
    },
    "Mappings": {"Registry": {"eu-north-1": {"Account": "763104351884"}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NoImage": {"Fn::Equals": [{"Ref": "Image"}, ""]},
        "DevWithoutImage": {"Fn::And": [{"Fn::Not": [{"Condition": "IsProd"}]}, {"Condition": "NoImage"}]},
    },
    "Globals": {"Function": {"Environment": {"Variables": {"STAGE": {"Ref": "Stage"}}}}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Named": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-named"}},
        },
        "ProdOnly": {"Type": "AWS::S3::Bucket", "Condition": "IsProd"},
        "Role": {"Type": "AWS::IAM::Role"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Environment": {
                    "Variables": {
                        "BUCKET": {"Ref": "Bucket"},
                        "BUCKET_ARN": {"Fn::GetAtt": ["Bucket", "Arn"]},
                        "ROLE": {"Fn::Sub": "${Role.Arn}"},
                        "TYPES": {"Fn::Join": [",", {"Ref": "Types"}]},
                        "FIRST": {"Fn::Select": [0, {"Ref": "Types"}]},
                        "IMAGE": {
                            "Fn::If": [
                                "NoImage",
                                {
                                    "Fn::Sub": [
                                        "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/x:1",
                                        {
                                            "Account": {
                                                "Fn::FindInMap": [
                                                    "Registry",
                                                    {"Ref": "AWS::Region"},
                                                    "Account",
                                                ]
                                            }
                                        },
                                    ]
                                },
                                {"Ref": "Image"},
                            ]
                        },
                        "ONLY_IN_PROD": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
                        "LITERAL": {"Fn::Sub": "${!NotAVariable}"},
                        "COUNT": 3,
                        "FLAG": True,
                    }
                }
            },
        },
    },
}


def stack(**parameters: Any) -> StackTemplate:
    return StackTemplate(SMALL, StackContext(stack_name="demo", region="eu-north-1", parameters=parameters))


def test_a_function_environment_resolves_every_intrinsic_the_template_uses() -> None:
    env = stack().function_environment("Fn")

    assert env["STAGE"] == "dev"
    assert env["BUCKET"] == stack().physical_name("Bucket")
    assert env["BUCKET"].startswith("demo-bucket-") and env["BUCKET"] == env["BUCKET"].lower()
    assert env["BUCKET_ARN"] == f"arn:aws:s3:::{env['BUCKET']}"
    assert env["ROLE"].startswith("arn:aws:iam::123456789012:role/demo-Role-")
    assert (env["TYPES"], env["FIRST"]) == ("a,b", "a")
    assert env["IMAGE"] == "763104351884.dkr.ecr.eu-north-1.amazonaws.com/x:1"
    assert "ONLY_IN_PROD" not in env  # AWS::NoValue drops the variable
    assert env["LITERAL"] == "${NotAVariable}"
    assert (env["COUNT"], env["FLAG"]) == ("3", "true")


def test_parameters_and_conditions_change_what_exists_and_what_functions_see() -> None:
    prod = stack(Stage="prod", Image="111122223333.dkr.ecr.eu-north-1.amazonaws.com/own:2", Types="x,y,z")
    env = prod.function_environment("Fn")

    assert env["IMAGE"] == "111122223333.dkr.ecr.eu-north-1.amazonaws.com/own:2"
    assert env["ONLY_IN_PROD"] == "yes" and env["TYPES"] == "x,y,z"
    assert "ProdOnly" in prod.of_type("AWS::S3::Bucket")
    assert "ProdOnly" not in stack().of_type("AWS::S3::Bucket")
    assert stack().condition("DevWithoutImage") and not prod.condition("DevWithoutImage")
    assert prod.physical_name("Named") == "demo-named"


def test_names_are_stable_and_distinct_per_stack() -> None:
    other = StackTemplate(SMALL, StackContext(stack_name="other"))

    assert stack().physical_name("Bucket") == stack().physical_name("Bucket")
    assert stack().physical_name("Bucket") != other.physical_name("Bucket")
    assert stack().ref("Queue").endswith("/123456789012/" + stack().physical_name("Queue"))  # Ref is the URL


@pytest.mark.parametrize(
    ("parameters", "message"),
    [({"Nope": "1"}, "unknown template parameters"), ({"Stage": "test"}, "is not one of")],
)
def test_bad_parameter_overrides_are_refused(parameters: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stack(**parameters)


def test_what_cannot_be_known_locally_says_so() -> None:
    with pytest.raises(Unresolvable, match="ImportValue"):
        stack().resolve({"Fn::ImportValue": "shared-vpc"})
    with pytest.raises(Unresolvable, match="not known locally"):
        stack().resolve({"Fn::GetAtt": ["Role", "RoleId"]})


def test_the_project_template_resolves_for_every_function() -> None:
    real = StackTemplate.load(REPO / "template.yaml", StackContext(stack_name="invoice-yolo-dev"))

    for function in real.functions():
        env = real.function_environment(function)
        assert env["STAGE"] == "dev", function
        assert all(isinstance(v, str) and "${" not in v for v in env.values()), function
    assert real.physical_name("ModelPointerParameter") == "/invoice-yolo-dev/model-pointer"


def test_function_specs_say_what_lambda_would_run_for_zip_and_image_functions() -> None:
    real = StackTemplate.load(REPO / "template.yaml", StackContext(stack_name="invoice-yolo-dev"))

    trigger = real.function_spec("TriggerTrainingFunction")
    assert trigger.handler == str(real.resources["TriggerTrainingFunction"]["Properties"]["Handler"])
    assert trigger.code_root == REPO / "functions" / "trigger_training"
    assert trigger.environment["AWS_LAMBDA_FUNCTION_NAME"] == real.physical_name("TriggerTrainingFunction")
    assert trigger.environment["STAGE"] == "dev" and trigger.environment["AWS_REGION"] == "eu-north-1"
    infer = real.function_spec("InferFunction")  # an image: handler and code root from its Dockerfile
    assert (infer.code_root / infer.handler.split(".", 1)[0]).is_dir()
    assert Path(infer.environment["MODEL_PATH"]).is_file()  # the baked-in model, at its source
    assert (infer.memory_mb, str(infer.memory_mb)) == (
        int(real.parameters["InferMemorySize"]),
        infer.environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
    )


def test_the_local_api_on_its_own_names_resources_by_logical_id_and_skips_what_it_cannot_resolve() -> None:
    imported = {"Fn::ImportValue": "shared-vpc"}
    template = {
        **SMALL,
        "Resources": {
            **SMALL["Resources"],
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.handler",
                    "Environment": {"Variables": {"BUCKET": {"Ref": "Bucket"}, "VPC": imported}},
                },
            },
        },
    }
    local = StackTemplate(template, StackContext(stack_name="local", logical_names=True))

    with pytest.raises(Unresolvable, match="ImportValue"):
        local.function_spec("Fn")
    spec = local.function_spec("Fn", strict=False)
    assert spec.environment["BUCKET"] == "Bucket" and "VPC" not in spec.environment
    assert spec.environment["AWS_LAMBDA_FUNCTION_NAME"] == "Fn"
    assert local.get_att("Role", "Arn") == "arn:aws:iam::123456789012:role/Role"


EVENT = {
    "source": "aws.sagemaker",
    "detail-type": "SageMaker Training Job State Change",
    "detail": {
        "TrainingJobName": "invoice-yolo-dev-1-a",
        "TrainingJobStatus": "Completed",
        "Epochs": 3,
        "Tags": ["a", "b"],
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.sagemaker"], "detail": {"TrainingJobStatus": ["Completed"]}}, True),
        ({"detail": {"TrainingJobStatus": ["Failed"]}}, False),
        ({"detail": {"TrainingJobName": [{"prefix": "invoice-yolo-dev-"}]}}, True),
        ({"detail": {"TrainingJobName": [{"prefix": "invoice-yolo-prod-"}]}}, False),
        ({"detail": {"TrainingJobName": [{"suffix": "-a"}]}}, True),
        ({"detail": {"TrainingJobStatus": [{"anything-but": ["Failed", "Stopped"]}]}}, True),
        ({"detail": {"TrainingJobStatus": [{"anything-but": {"prefix": "Comp"}}]}}, False),
        ({"detail": {"FailureReason": [{"exists": False}]}}, True),
        ({"detail": {"FailureReason": [{"exists": True}]}}, False),
        ({"detail": {"Epochs": [{"numeric": [">", 2, "<=", 3]}]}}, True),
        ({"detail": {"Epochs": [{"numeric": [">", 3]}]}}, False),
        ({"detail": {"Tags": ["b"]}}, True),  # an array in the event matches if any element does
        ({"detail": {"TrainingJobStatus": [{"equals-ignore-case": "completed"}]}}, True),
        ({"detail-type": ["Something Else"]}, False),
    ],
)
def test_eventbridge_patterns_match_like_eventbridge(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected
