"""Event patterns: the examples of EventBridge's pattern pages and event-ruler's README, verbatim.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html,
https://github.com/aws/event-ruler (README: "Ruler by Example", "JSON Array Matching").
"""

from __future__ import annotations

import pytest

from localcloud.event_patterns import PatternError, matches, validate

EVENT = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}


@pytest.mark.parametrize(
    "pattern",
    [
        {
            "detail-type": ["EC2 Instance State-change Notification"],
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
            "detail": {"state": ["initializing", "running"]},
        },
        {"time": [{"prefix": "2017-10-02"}]},
        {"source": [{"suffix": "ec2"}]},
        {"source": [{"equals-ignore-case": "AWS.EC2"}]},
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        {"detail": {"x-limit": [{"anything-but": 123}]}},
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}},
        {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}},
        {"detail": {"c-count": [{"exists": True}]}},
        {"detail": {"nope": [{"exists": False}]}},
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        {"source": ["aws.ec2"], "$or": [{"detail": {"state": ["stopped"]}}, {"detail": {"c-count": [5]}}]},
    ],
)
def test_ruler_by_example_patterns_match_the_sample_event(pattern):
    validate(pattern)
    assert matches(pattern, EVENT)


EMPLOYEES = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}
NESTED = {"employees": [[EMPLOYEES["employees"][0], EMPLOYEES["employees"][1]], [EMPLOYEES["employees"][2]]]}


@pytest.mark.parametrize("event", [EMPLOYEES, NESTED])
def test_arrays_of_objects_match_within_one_element(event):
    assert matches({"employees": {"firstName": ["Anna"]}}, event)
    assert matches({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, event)
    assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, event)


def test_literals_are_compared_as_json():
    assert matches({"a": [True]}, {"a": True})
    assert not matches({"a": [True]}, {"a": 1})
    assert not matches({"a": ["true"]}, {"a": True})
    assert not matches({"a": [300]}, {"a": 300.0})  # exact match is on the JSON text
    assert matches({"a": [{"numeric": ["=", 300]}]}, {"a": 300.0})
    assert not matches({"a": [{"numeric": [">", 0]}]}, {"a": True})
    assert matches({"a": [None]}, {"a": None}) and not matches({"a": [None]}, {})


def test_an_operator_on_an_event_array_matches_when_any_element_does():
    assert matches({"a": [{"anything-but": "x"}]}, {"a": ["x", "y"]})
    assert not matches({"a": [{"anything-but": "x"}]}, {"a": ["x"]})
    assert matches({"a": [{"numeric": [">", 5]}]}, {"a": [1, [2, 9]]})  # arrays of arrays flattened


def test_wildcard_spans_newlines_and_escapes_a_star():
    assert matches({"a": [{"wildcard": "Simple*Service"}]}, {"a": "Simple Queue\nService"})
    assert matches({"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"})
    assert not matches({"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"})


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"source": [{"prefx": "aws."}]}, "unknown operator 'prefx'"),
        ({"source": "aws.ec2"}, "leaf must be a non-empty array"),
        ({"source": []}, "leaf must be a non-empty array"),
        ({"a": [{"numeric": [">", "5"]}]}, "invalid numeric"),
        ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "invalid numeric"),
        ({"a": [{"wildcard": "a**b"}]}, "invalid wildcard"),
        ({"a": [{"exists": "yes"}]}, "invalid exists"),
        ({"a": [{"cidr": "10.0.0.0/33"}]}, "invalid cidr"),
        ({"a": [{"anything-but": [1, "x"]}]}, "invalid anything-but"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "exactly one key"),
        ({"$or": [{"a": ["x"]}]}, "at least two"),
    ],
)
def test_patterns_eventbridge_rejects_are_rejected(pattern, message):
    with pytest.raises(PatternError, match=message):
        validate(pattern)
