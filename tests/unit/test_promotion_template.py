"""template.yaml's promotion resources: the lock table, its least-privilege access, the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from promotion.settings import Settings

pytestmark = pytest.mark.unit

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTION = RESOURCES["PromoteModelFunction"]["Properties"]
STATEMENTS = [s for policy in FUNCTION["Policies"] for s in policy["Statement"]]


def test_the_lock_table_is_on_demand_encrypted_and_recoverable_like_the_others() -> None:
    table = RESOURCES["ModelPointerLockTable"]
    props = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pointer", "KeyType": "HASH"}]
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_function_may_only_take_and_release_the_lease_of_its_pointer() -> None:
    dynamodb = [s for s in STATEMENTS if any(str(a).startswith("dynamodb:") for a in s["Action"])]
    [statement] = dynamodb
    assert sorted(statement["Action"]) == ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["ModelPointerLockTable", "Arn"]}
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [{"Ref": "ModelPointerParameter"}]}
    }


def test_the_template_sets_every_variable_the_settings_require() -> None:
    provided = set(FUNCTION["Environment"]["Variables"]) | set(
        TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    )
    required = {f.alias for f in Settings.model_fields.values() if f.is_required()}
    assert required <= provided, required - provided
    assert FUNCTION["Environment"]["Variables"]["POINTER_LOCK_TABLE"] == {"Ref": "ModelPointerLockTable"}
