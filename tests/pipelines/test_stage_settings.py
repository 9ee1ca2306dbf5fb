"""The account topology in the settings: MLOPS_STAGES names the deployment stages' accounts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines import settings as s

ACCOUNTS = st.text("0123456789", min_size=12, max_size=12)


def test_no_stages_is_the_single_account_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(s.STAGES_ENV, raising=False)
    assert s.load("dev").stages == ()
    assert s.load("dev").cross_account_stages == ()


def test_stages_from_the_environment_in_promotion_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(s.STAGES_ENV, "staging:111111111111, prod:222222222222:eu-west-1")
    loaded = s.load("dev", account="123456789012", region="us-east-1")
    assert loaded.stages == (
        s.Stage("staging", "111111111111", "us-east-1"),
        s.Stage("prod", "222222222222", "eu-west-1"),
    )
    prod = loaded.stage("prod")
    assert loaded.stage_role_arn(prod, "model") == (
        "arn:aws:iam::222222222222:role/abalone-mlops-dev-prod-model-eu-west-1"
    )
    assert loaded.stage_endpoint_name(prod) == "abalone-mlops-dev-prod-endpoint"


def test_a_stage_in_the_build_account_needs_no_cross_account_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(s.STAGES_ENV, "staging:123456789012,prod:222222222222")
    loaded = s.load("dev", account="123456789012")
    assert [stage.name for stage in loaded.cross_account_stages] == ["prod"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("prod:222222222222", "must be staging then prod"),
        ("prod:222222222222,staging:111111111111", "must be staging then prod"),
        ("staging:111111111111,staging:111111111111", "must be staging then prod"),
        ("qa:111111111111", "unknown stage 'qa'"),
        ("staging:1111", "stage staging: account '1111' must be 12 digits"),
        ("staging", "'staging' must be stage:account"),
        ("staging:111111111111:us-east-1:x", "must be stage:account or stage:account:region"),
    ],
)
def test_bad_stages_are_one_line_errors(monkeypatch: pytest.MonkeyPatch, raw: str, message: str) -> None:
    monkeypatch.setenv(s.STAGES_ENV, raw)
    with pytest.raises(s.SettingsError, match=message) as raised:
        s.load("dev")
    assert "\n" not in str(raised.value)


def test_an_unconfigured_stage_says_how_to_configure_it() -> None:
    with pytest.raises(
        s.SettingsError, match=r"no stage 'prod' configured \(stages: none\); set MLOPS_STAGES"
    ):
        s.load("dev").stage("prod")


@given(staging=ACCOUNTS, prod=ACCOUNTS, region=st.sampled_from(["us-east-1", "eu-west-1", "cn-north-1"]))
def test_parsing_round_trips(staging: str, prod: str, region: str) -> None:
    stages = s.parse_stages(f"staging:{staging},prod:{prod}:{region}", default_region="us-east-1")
    assert [(x.name, x.account, x.region) for x in stages] == [
        ("staging", staging, "us-east-1"),
        ("prod", prod, region),
    ]


@given(raw=st.text(max_size=40))
def test_any_input_parses_or_is_a_settings_error(raw: str) -> None:
    try:
        stages = s.parse_stages(raw, default_region="us-east-1")
    except s.SettingsError as err:
        assert "\n" not in str(err)
    else:
        assert tuple(x.name for x in stages) == s.DEPLOYMENT_STAGES[: len(stages)]


def test_the_local_demo_names_stages_without_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo STAGES=staging,prod`: the emulated accounts; a real deployment must name them."""
    monkeypatch.setenv(s.STAGES_ENV, "staging,prod:333333333333")
    stages = s.load("dev", account="123456789012", emulated_stage_accounts=True).stages
    assert [(stage.name, stage.account) for stage in stages] == [
        ("staging", s.EMULATED_STAGE_ACCOUNTS["staging"]),
        ("prod", "333333333333"),
    ]
    with pytest.raises(
        s.SettingsError, match=r"'staging' must be stage:account .* only in the local demo\)$"
    ):
        s.load("dev", account="123456789012")


def test_batch_serving_cannot_be_promoted_through_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(s.STAGES_ENV, "staging:111111111111,prod:222222222222")
    monkeypatch.setenv(s.SERVING_MODE_ENV, "batch")
    with pytest.raises(
        s.SettingsError, match=r"^serving.mode batch cannot be promoted through deployment stages"
    ):
        s.load("dev", account="123456789012")
