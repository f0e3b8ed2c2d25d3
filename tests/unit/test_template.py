"""template.yaml and samconfig.toml: the security and wiring rules the linters do not know about.

(`make lint-template` runs sam validate --lint, cfn-lint and checkov; these tests pin the
project's own rules: least privilege, TLS-only buckets, auth per route, config names.)
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from launcher.settings import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
BUCKETS = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::S3::Bucket"]
TRIGGER = RESOURCES["TriggerTrainingFunction"]["Properties"]
TRIGGER_ENV = TRIGGER["Environment"]["Variables"]
# Actions without resource-level permissions: the only ones allowed on "*".
UNSCOPABLE = {"sagemaker:ListTrainingJobs", "cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _default_branch(statements: list[Any]) -> list[dict[str, Any]]:
    """Statements with a conditional one (`!If [Cond, statement, NoValue]`) as its first branch."""
    return [s["Fn::If"][1] if "Fn::If" in s else s for s in statements]


def _statements() -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement in the template, with the resource it belongs to."""
    found = []
    for name, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", []) if "PolicyDocument" in p]
        documents += [p for p in props.get("Policies", []) if "Statement" in p]  # SAM inline form
        if resource["Type"] in {"AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"}:
            documents.append(props["PolicyDocument"])
        found += [(name, s) for doc in documents for s in _default_branch(doc["Statement"])]
    return found


def test_the_resources_other_parts_rely_on_exist() -> None:
    expected = {
        "Api": "AWS::Serverless::Api",
        "InferFunction": "AWS::Serverless::Function",
        "TriggerTrainingFunction": "AWS::Serverless::Function",
        "YoloDepsLayer": "AWS::Serverless::LayerVersion",
        "DataBucket": "AWS::S3::Bucket",
        "ModelsBucket": "AWS::S3::Bucket",
        "CheckpointsBucket": "AWS::S3::Bucket",
        "UploadsBucket": "AWS::S3::Bucket",  # presigned uploads for /infer reference this id
        "IdempotencyTable": "AWS::DynamoDB::Table",
        "SageMakerExecutionRole": "AWS::IAM::Role",
    }
    assert {name: RESOURCES[name]["Type"] for name in expected} == expected


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_is_private_encrypted_and_tls_only(bucket: str) -> None:
    props = RESOURCES[bucket]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["LifecycleConfiguration"]["Rules"]
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    [statements] = policies
    denies = [
        s for s in statements if s["Effect"] == "Deny" and s["Principal"] == "*" and s["Action"] == "s3:*"
    ]
    conditions = [s["Condition"] for s in denies]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": "1.2"}} in conditions
    for deny in denies:  # the bucket and its objects
        assert deny["Resource"] == [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}]


def test_artefacts_are_versioned_and_scratch_data_expires() -> None:
    for bucket in ("DataBucket", "ModelsBucket"):
        assert RESOURCES[bucket]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
        assert RESOURCES[bucket]["DeletionPolicy"] == "Retain"
    expiry = {
        bucket: RESOURCES[bucket]["Properties"]["LifecycleConfiguration"]["Rules"][0].get("ExpirationInDays")
        for bucket in ("UploadsBucket", "CheckpointsBucket")
    }
    assert expiry == {
        "UploadsBucket": {"Ref": "UploadRetentionDays"},
        "CheckpointsBucket": {"Ref": "CheckpointRetentionDays"},
    }


def test_buckets_log_access_except_the_log_bucket() -> None:
    for bucket in BUCKETS:
        logging = RESOURCES[bucket]["Properties"].get("LoggingConfiguration")
        if bucket == "AccessLogsBucket":
            assert logging is None
        else:
            assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}


def test_no_statement_allows_everything() -> None:
    for owner, statement in _statements():
        if statement["Effect"] != "Allow":
            continue
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if a == "*" or a.endswith(":*")], owner
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE, (owner, actions)


def _trigger_statement(sid: str) -> dict[str, Any]:
    [statement] = [s for s in _default_branch(TRIGGER["Policies"][0]["Statement"]) if s["Sid"] == sid]
    return statement


def test_the_trigger_manages_only_its_stacks_jobs_and_passes_only_the_training_role() -> None:
    manage = _trigger_statement("ManageThisStacksTrainingJobs")
    assert manage["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
        ":training-job/${TrainingJobPrefix}-${Stage}-*"
    }
    assert TRIGGER_ENV["TRAINING_JOB_PREFIX"] == {"Fn::Sub": "${TrainingJobPrefix}-${Stage}"}
    pass_role = _trigger_statement("PassOnlyTheTrainingRole")
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    deny = _trigger_statement("OnlyAllowlistedInstanceTypes")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {
        "ForAnyValue:StringNotEquals": {"sagemaker:InstanceTypes": {"Ref": "TrainingInstanceTypes"}}
    }
    table = _trigger_statement("IdempotencyRecords")
    assert table["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_the_training_role_writes_only_output_and_checkpoints() -> None:
    [policy] = RESOURCES["SageMakerExecutionRole"]["Properties"]["Policies"]
    writes = {
        resource["Fn::Sub"] if isinstance(resource, dict) else resource
        for statement in policy["PolicyDocument"]["Statement"]
        if any(a in {"s3:PutObject", "s3:DeleteObject"} for a in _as_list(statement["Action"]))
        for resource in _as_list(statement["Resource"])
    }
    # Only this stack's job-name prefix (IAM cannot scope a shared role to one job: see the template).
    assert writes == {
        "${ModelsBucket.Arn}/training-output/${TrainingJobPrefix}-${Stage}-*",
        "${CheckpointsBucket.Arn}/checkpoints/${TrainingJobPrefix}-${Stage}-*",
    }
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in _as_list(s["Action"])}
    assert not {a for a in actions if a.startswith("s3:Delete")}  # a job deletes nothing
    trust = RESOURCES["SageMakerExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "sagemaker.amazonaws.com"}]


def test_role_and_image_reach_the_function_from_the_template() -> None:
    assert TRIGGER_ENV["SAGEMAKER_ROLE_ARN"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    image = TRIGGER_ENV["TRAINING_IMAGE_URI"]["Fn::If"]
    assert image[0] == "UseDefaultTrainingImage"
    assert image[2] == {"Ref": "TrainingImageUri"}
    assert TEMPLATE["Conditions"]["UseDefaultTrainingImage"] == {
        "Fn::Equals": [{"Ref": "TrainingImageUri"}, ""]
    }


def _default_image(region: str, url_suffix: str) -> str:
    """Evaluate the template's default-image expression for one region."""
    pattern, variables = TRIGGER_ENV["TRAINING_IMAGE_URI"]["Fn::If"][1]["Fn::Sub"]
    mapping = TEMPLATE["Mappings"][variables["Account"]["Fn::FindInMap"][0]]
    values = {
        "Account": mapping[region]["Account"],
        "AWS::Region": region,
        "AWS::URLSuffix": url_suffix,
        "TrainingImageTag": PARAMETERS["TrainingImageTag"]["Default"],
    }
    return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], pattern)


@pytest.mark.parametrize(
    ("region", "suffix", "uri"),
    [  # what sagemaker 3.27.0's image_uris.retrieve("pytorch", region, "2.10.0", "py313",
        # instance_type="ml.g4dn.xlarge", image_scope="training") returned, run once by hand
        (
            "eu-north-1",
            "amazonaws.com",
            "763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313",
        ),
        (
            "us-east-1",
            "amazonaws.com",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313",
        ),
        (
            "af-south-1",
            "amazonaws.com",
            "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313",
        ),
        (
            "cn-north-1",
            "amazonaws.com.cn",
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.10.0-gpu-py313",
        ),
    ],
)
def test_the_default_training_image_is_the_regions_pytorch_container(
    region: str, suffix: str, uri: str
) -> None:
    assert _default_image(region, suffix) == uri
    pattern = next(
        m.pattern for m in Settings.model_fields["training_image_uri"].metadata if hasattr(m, "pattern")
    )
    assert re.match(pattern, uri)  # and the function's settings accept it


def test_the_function_gets_every_variable_its_settings_read() -> None:
    # The settings read the environment by alias (apiedge.settings.EnvSettings): each alias is a variable.
    asked = {field.alias for field in Settings.model_fields.values() if field.alias}
    assert "DATA_BUCKET" in asked and "TRAINING_NETWORK_ISOLATION" in asked
    provided = set(TRIGGER_ENV) | set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    assert asked <= provided, asked - provided


def test_default_instance_type_is_in_the_allowlist() -> None:
    allowlist = PARAMETERS["TrainingInstanceTypes"]["Default"].split(",")
    assert PARAMETERS["DefaultTrainingInstanceType"]["Default"] in allowlist
    assert PARAMETERS["DefaultTrainingInstanceType"]["Default"] == "ml.g4dn.xlarge"
    rule = TEMPLATE["Rules"]["DefaultInstanceTypeInAllowlist"]["Assertions"][0]["Assert"]
    assert rule == {
        "Fn::Contains": [{"Ref": "TrainingInstanceTypes"}, {"Ref": "DefaultTrainingInstanceType"}]
    }


def test_train_routes_need_iam_and_infer_needs_an_api_key() -> None:
    auth = RESOURCES["Api"]["Properties"]["Auth"]
    assert auth["ApiKeyRequired"] is True
    assert auth["AddApiKeyRequiredToCorsPreflight"] is False
    assert auth["UsagePlan"]["Quota"] == {
        "Limit": {"Ref": "ApiQuotaLimit"},
        "Period": {"Ref": "ApiQuotaPeriod"},
    }
    assert auth["UsagePlan"]["Throttle"] == {
        "RateLimit": {"Ref": "ApiThrottleRateLimit"},
        "BurstLimit": {"Ref": "ApiThrottleBurstLimit"},
    }
    routes = {
        (e["Properties"]["Path"], e["Properties"]["Method"]): e["Properties"].get("Auth")
        for e in TRIGGER["Events"].values()
    }
    assert set(routes) == {("/train", "post"), ("/train", "get"), ("/train/{job_name}", "get")}
    for route_auth in routes.values():
        assert route_auth == {"Authorizer": "AWS_IAM", "InvokeRole": "NONE", "ApiKeyRequired": False}
    for event in RESOURCES["InferFunction"]["Properties"]["Events"].values():
        assert "Authorizer" not in (event["Properties"].get("Auth") or {})  # the API key default applies


SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
_TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():  # what `sam validate` does with local paths
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::Serverless::Function":
        if props.get("PackageType") == "Image":
            props["ImageUri"] = "123456789012.dkr.ecr.eu-north-1.amazonaws.com/infer:latest"
        else:
            props["CodeUri"] = "s3://bucket/code.zip"
    elif resource["Type"] == "AWS::Serverless::LayerVersion":
        props["ContentUri"] = "s3://bucket/layer.zip"
print(json.dumps(transform(template, {}, NoManagedPolicies()), default=str))
"""


@pytest.mark.skipif(not SAM_PYTHON.exists(), reason="needs the SAM tool venv (make tools)")
def test_the_deployed_api_methods_carry_that_auth() -> None:
    out = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSFORM, str(ROOT / "template.yaml")],
        check=True,
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "eu-north-1", "PATH": "/usr/bin:/bin"},
    )
    body = json.loads(out.stdout)["Resources"]["Api"]["Properties"]["Body"]
    security = {
        (path, method): spec.get("security")
        for path, methods in body["paths"].items()
        for method, spec in methods.items()
    }
    assert security[("/infer", "post")] == [{"api_key": []}]
    for route in (("/train", "post"), ("/train", "get"), ("/train/{job_name}", "get")):
        assert security[route] == [{"AWS_IAM": []}]
    assert {k: v for k, v in security.items() if k[1] == "options"} == {
        k: None for k in security if k[1] == "options"
    }  # CORS preflights need neither a key nor a signature


def test_every_endpoint_bucket_and_function_is_an_output() -> None:
    outputs = json.dumps(TEMPLATE["Outputs"])
    for bucket in BUCKETS:
        assert json.dumps({"Ref": bucket}) in outputs, bucket
    for name, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert json.dumps({"Fn::GetAtt": [name, "Arn"]}) in outputs, name
    for endpoint in ("ApiUrl", "InferEndpoint", "TrainEndpoint", "TrainJobStatusEndpoint", "ApiKeyId"):
        assert endpoint in TEMPLATE["Outputs"]


def test_alarms_cover_errors_throttles_latency_and_failed_jobs() -> None:
    alarms = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {
        (a["MetricName"], json.dumps(a["Dimensions"][0]["Value"]))
        for a in alarms.values()
        if a["Namespace"] == "AWS/Lambda"
    }
    for function in ("InferFunction", "TriggerTrainingFunction"):
        assert ("Errors", json.dumps({"Ref": function})) in watched
        assert ("Throttles", json.dumps({"Ref": function})) in watched
    latency = alarms["InferLatencyP95Alarm"]
    assert latency["ExtendedStatistic"] == "p95"
    assert {"Name": "Resource", "Value": "/infer"} in latency["Dimensions"]
    assert latency["Threshold"] == {"Ref": "InferLatencyP95ThresholdMs"}
    rule = RESOURCES["FailedTrainingJobRule"]["Properties"]["EventPattern"]
    assert rule["detail"]["TrainingJobStatus"] == ["Failed"]
    assert rule["detail"]["TrainingJobName"] == [{"prefix": {"Fn::Sub": "${TrainingJobPrefix}-${Stage}-"}}]
    assert alarms["FailedTrainingJobsAlarm"]["Dimensions"] == [
        {"Name": "RuleName", "Value": {"Ref": "FailedTrainingJobRule"}}
    ]
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_every_checkov_skip_says_why() -> None:
    skips = [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
        assert len(skip.get("comment", "")) > 30, (name, skip["id"])


def test_samconfig_environments() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = {env: config[env]["deploy"]["parameters"] for env in ("default", "dev", "prod")}
    assert deploy["prod"]["confirm_changeset"] is True
    assert deploy["dev"]["confirm_changeset"] is False
    assert "Stage=prod" in deploy["prod"]["parameter_overrides"]
    assert "Stage=dev" in deploy["dev"]["parameter_overrides"]
    assert deploy["dev"]["stack_name"] != deploy["prod"]["stack_name"]
    for params in deploy.values():
        assert params["capabilities"] == "CAPABILITY_IAM"
        assert params["resolve_image_repos"] is True  # the inference function is an image


def _copy_sources() -> list[str]:
    dockerfile = ROOT / RESOURCES["InferFunction"]["Metadata"]["Dockerfile"]
    sources = []
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if parts and parts[0].upper() in {"COPY", "ADD"} and not any(p.startswith("--from") for p in parts):
            sources += [p for p in parts[1:-1] if not p.startswith("--")]
    return sources


def _docker_ignored(path: str, context: Path) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (no `!` exceptions used here)."""
    ignore = context / ".dockerignore"
    patterns = [line.strip() for line in ignore.read_text().splitlines()] if ignore.exists() else []
    for pattern in (p for p in patterns if p and not p.startswith("#")):
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]  # a dir excludes what it holds
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


@pytest.mark.parametrize("source", _copy_sources())
def test_the_inference_image_copies_files_that_exist(source: str) -> None:
    context = ROOT / RESOURCES["InferFunction"]["Metadata"]["DockerContext"]
    assert list(context.glob(source)), f"{source} (Dockerfile COPY) is missing from the build context"
    assert not _docker_ignored(source, context), f"{source} (Dockerfile COPY) is excluded by .dockerignore"


def test_the_layer_ships_the_shared_edge_package(tmp_path: Path) -> None:
    """The layer's Makefile build (pip replaced by a no-op: no network here) copies apiedge, the one
    copy of the edge code the zip functions import; the image copies the same folder."""
    layer = RESOURCES["YoloDepsLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = ROOT / layer["Properties"]["ContentUri"] / "Makefile"
    done = subprocess.run(
        ["make", "-f", str(makefile), "build-YoloDepsLayer", f"ARTIFACTS_DIR={tmp_path}", "PIP=true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shipped = sorted(p.name for p in (tmp_path / "python" / "apiedge").glob("*.py"))
    assert shipped == sorted(p.name for p in (ROOT / "functions" / "common" / "apiedge").glob("*.py"))
    dockerfile = (ROOT / RESOURCES["InferFunction"]["Metadata"]["Dockerfile"]).read_text()
    assert "COPY functions/common/apiedge ${LAMBDA_TASK_ROOT}/apiedge" in dockerfile
    for name in ("TriggerTrainingFunction", "PromoteModelFunction"):
        assert {"Ref": "YoloDepsLayer"} in RESOURCES[name]["Properties"]["Layers"]


def test_the_image_copies_every_package_of_the_inference_code() -> None:
    """Each package the image's handlers import from functions/infer (adapter, core, queue worker)
    and the shared edge package are COPY'd: a missing one fails only in Lambda otherwise."""
    dockerfile = (ROOT / RESOURCES["InferFunction"]["Metadata"]["Dockerfile"]).read_text()
    packages = sorted(p.parent.name for p in (ROOT / "functions" / "infer").glob("*/__init__.py"))
    assert packages == ["inbox", "invoice_core", "serving"]
    for package in packages:
        assert f"COPY functions/infer/{package} ${{LAMBDA_TASK_ROOT}}/{package}" in dockerfile
    for package in sorted(p.parent.name for p in (ROOT / "functions" / "common").glob("*/__init__.py")):
        assert f"COPY functions/common/{package} ${{LAMBDA_TASK_ROOT}}/{package}" in dockerfile
    worker = RESOURCES["ProcessInvoiceFunction"]
    assert worker["Metadata"]["Dockerfile"] == RESOURCES["InferFunction"]["Metadata"]["Dockerfile"]
    assert worker["Properties"]["ImageConfig"]["Command"] == ["inbox.handler.lambda_handler"]


def test_training_jobs_are_network_isolated_by_default_and_iam_enforces_it() -> None:
    assert PARAMETERS["TrainingNetworkIsolation"]["Default"] == "true"
    assert TRIGGER_ENV["TRAINING_NETWORK_ISOLATION"] == {"Ref": "TrainingNetworkIsolation"}
    [deny] = [
        s["Fn::If"][1]
        for s in TRIGGER["Policies"][0]["Statement"]
        if "Fn::If" in s and s["Fn::If"][0] == "TrainingNetworkIsolated"
    ]
    assert deny["Effect"] == "Deny" and deny["Action"] == "sagemaker:CreateTrainingJob"
    assert deny["Condition"] == {"Bool": {"sagemaker:NetworkIsolation": "false"}}


def test_base_weights_are_readable_only_from_the_stacks_own_model_prefixes() -> None:
    [check] = [
        s for s in TRIGGER["Policies"][0]["Statement"] if s.get("Sid") == "CheckDatasetsAndBaseWeightsExist"
    ]
    weights = {r["Fn::Sub"] for r in check["Resource"] if not r["Fn::Sub"].endswith("data.yaml")}
    assert weights == {
        "${ModelsBucket.Arn}/models/*.pt",
        "${ModelsBucket.Arn}/training-output/*.pt",
        "${ModelsBucket.Arn}/training-output/*/output/model.tar.gz",
    }


@pytest.mark.parametrize("policy", ["DataBucketPolicy", "ModelsBucketPolicy", "CheckpointsBucketPolicy"])
def test_bucket_policies_deny_the_training_role_writes_outside_its_prefixes(policy: str) -> None:
    statements = RESOURCES[policy]["Properties"]["PolicyDocument"]["Statement"]
    role_denies = [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn")
        == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    ]
    denied = {a for s in role_denies for a in _as_list(s["Action"])}
    assert {"s3:PutObject", "s3:DeleteObject"} <= denied
