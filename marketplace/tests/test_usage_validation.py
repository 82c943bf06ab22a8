"""The lean usage-event validator gives exactly what UsageEventInput (DRF) gives."""

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.vendor_api.serializers import (
    UsageBatchInput,
    UsageEventInput,
    usage_batch_events,
    usage_event_validate,
)


def drf(raw):
    s = UsageEventInput(data=raw)
    if s.is_valid():
        return dict(s.validated_data), []
    return None, sorted(s.errors)


def lean(raw):
    data, bad = usage_event_validate(raw)
    return (None if bad else data), bad


TRICKY = [
    {"event_id": "e1", "pass_token": "t", "units": 3},
    {"event_id": "e1", "pass_token": "t"},  # units default 1
    {"event_id": " padded ", "pass_token": "t\t", "units": "4"},
    {"event_id": "", "pass_token": "t"},
    {"event_id": "   ", "pass_token": "t"},
    {"event_id": None, "pass_token": None, "units": None},
    {"event_id": 12, "pass_token": 3.5, "units": 2.0},
    {"event_id": True, "pass_token": "t", "units": True},
    {"event_id": "x" * 255, "pass_token": "y" * 64},
    {"event_id": "x" * 256, "pass_token": "y" * 65},
    {"event_id": "nul\x00", "pass_token": "t"},
    {"event_id": "\ud800", "pass_token": "t"},
    {"event_id": "ünï", "pass_token": "t", "units": "1.0"},
    {"event_id": "e", "pass_token": "t", "units": "1.5"},
    {"event_id": "e", "pass_token": "t", "units": [1]},
    {"event_id": ["e"], "pass_token": {"a": 1}, "units": -2},
    {"event_id": "e", "pass_token": "t", "units": 10**40},
    {"event_id": "e", "pass_token": "t", "timestamp": "2026-11-22T10:00:00Z"},
    {"event_id": "e", "pass_token": "t", "timestamp": "2026-11-22T10:00:00"},
    {"event_id": "e", "pass_token": "t", "timestamp": "2026-11-22T10:00:00+05:30"},
    {"event_id": "e", "pass_token": "t", "timestamp": "yesterday"},
    {"event_id": "e", "pass_token": "t", "timestamp": None},
    {"event_id": "e", "pass_token": "t", "timestamp": 1795000000},
    {"event_id": "e", "pass_token": "t", "extra": "ignored"},
    {},
]


@pytest.mark.parametrize("raw", TRICKY)
def test_same_result_as_drf_on_tricky_input(raw):
    assert lean(raw) == drf(raw)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
FIELD_VALUES = st.one_of(
    JSON, st.text(min_size=0, max_size=300), st.datetimes().map(datetime.isoformat)
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["event_id", "pass_token", "units", "timestamp", "other"]),
        FIELD_VALUES,
    )
)
def test_same_result_as_drf_on_any_json(raw):
    assert lean(raw) == drf(raw)


@pytest.mark.parametrize(
    "body",
    [
        {"events": [{"event_id": "a"}]},
        {"events": []},
        {"events": None},
        {"events": "abc"},
        {"events": [1, 2]},
        {"events": [{}, []]},
        {"events": {"a": 1}},
        {},
        [{"events": []}],
        "events",
    ],
)
def test_batch_shape_check_agrees_with_drf(body):
    accepted = usage_batch_events(body) is not None
    assert accepted == UsageBatchInput(data=body).is_valid()
