"""Message and MessageMetadata: frozen records with an id and timestamp of their own."""

from __future__ import annotations

import pickle
import uuid
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest

from rivusio import Message, MessageMetadata


def test_every_metadata_gets_its_own_id_and_timestamp() -> None:
    """Two metadata objects built one after the other differ in id; each id is a UUID4."""
    first = MessageMetadata()
    second = MessageMetadata()
    assert first.message_id != second.message_id
    assert uuid.UUID(first.message_id).version == 4
    assert first.timestamp <= second.timestamp


def test_timestamp_is_taken_at_construction() -> None:
    """The default timestamp is the time of construction (naive local time, as in 0.2.0)."""
    before = datetime.now()
    metadata = MessageMetadata()
    after = datetime.now()
    assert before <= metadata.timestamp <= after
    assert metadata.timestamp.tzinfo is None


def test_every_message_gets_its_own_metadata() -> None:
    """A message built without metadata gets a fresh MessageMetadata of its own."""
    first = Message(value=1)
    second = Message(value=1)
    assert isinstance(first.metadata, MessageMetadata)
    assert isinstance(second.metadata, MessageMetadata)
    assert first.metadata.message_id != second.metadata.message_id
    assert first != second


def test_metadata_fields() -> None:
    """Every 0.2.0 field is accepted by keyword and kept."""
    stamp = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    headers = {"device_id": "env_123"}
    metadata = MessageMetadata(
        timestamp=stamp,
        source="environmental_sensor",
        message_id="m-1",
        correlation_id="batch_xyz",
        headers=headers,
    )
    assert metadata == MessageMetadata(
        timestamp=stamp,
        source="environmental_sensor",
        message_id="m-1",
        correlation_id="batch_xyz",
        headers={"device_id": "env_123"},
    )
    assert metadata.headers is not headers
    assert (metadata.source, metadata.correlation_id) == ("environmental_sensor", "batch_xyz")


def test_metadata_defaults() -> None:
    """Optional fields default to None and headers to an empty dict of its own."""
    first, second = MessageMetadata(), MessageMetadata()
    assert (first.source, first.correlation_id, first.headers) == (None, None, {})
    assert first.headers is not second.headers


def test_records_are_frozen() -> None:
    """Neither a message nor its metadata can be changed in place; evolve makes copies."""
    message = Message(value=1, metadata=MessageMetadata(source="s"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.value = 2  # type: ignore[misc]
    assert isinstance(message.metadata, MessageMetadata)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.metadata.source = "t"  # type: ignore[misc]
    changed = attrs.evolve(message, value=2)
    assert (changed.value, changed.metadata) == (2, message.metadata)


def test_metadata_is_hashable_despite_its_headers() -> None:
    """Headers take no part in the hash, so metadata works as a dict key or set member."""
    metadata = MessageMetadata(message_id="x", headers={"a": 1})
    assert {metadata: 1}[metadata] == 1


def test_message_keeps_dict_metadata_as_a_dict() -> None:
    """Dict metadata (0.2.0's only form) stays a dict, copied from the caller's."""
    stamp = datetime(2025, 1, 1)
    given = {"timestamp": stamp, "source": "test_source", "message_id": "123"}
    message = Message(value={"key": "value"}, metadata=given)
    assert message.metadata == given
    assert message.metadata is not given
    assert isinstance(message.metadata, dict)
    assert message.metadata["source"] == "test_source"


def test_message_equality_and_repr() -> None:
    """Messages with equal values and metadata are equal; the repr shows the value."""
    metadata: dict[str, Any] = {"source": "source", "message_id": "id1"}
    first = Message(value={"key": "value"}, metadata=metadata)
    assert first == Message(value={"key": "value"}, metadata=dict(metadata))
    assert first != Message(value={"key": "different"}, metadata=dict(metadata))
    other: object = "not a message"
    assert first != other
    assert repr(Message(value=[1, 2], metadata=None)) == "Message(value=[1, 2], metadata=None)"


def test_message_accepts_none_metadata_and_any_value() -> None:
    """metadata=None is kept, and the value may be of any type, None included."""
    message: Message[None] = Message(value=None, metadata=None)
    assert (message.value, message.metadata) == (None, None)


def test_message_rejects_other_metadata() -> None:
    """Metadata that is neither MessageMetadata, a mapping nor None is a TypeError."""
    with pytest.raises(
        TypeError,
        match=(
            r"^Message.metadata: expected a MessageMetadata, a mapping or None, "
            r"got list \(\['a'\]\)$"
        ),
    ):
        Message(value=1, metadata=["a"])  # type: ignore[arg-type]


def test_unknown_metadata_keywords_are_rejected() -> None:
    """A keyword that is not a field raises TypeError (0.2.0 silently ignored it)."""
    with pytest.raises(TypeError, match="tags"):
        MessageMetadata(source="sensor_1", tags=["raw"])  # type: ignore[call-arg]


def test_messages_pickle() -> None:
    """Messages survive pickling (for process pools), id and all."""
    message = Message(value=[1, 2], metadata=MessageMetadata(source="s", headers={"k": "v"}))
    assert pickle.loads(pickle.dumps(message)) == message


def test_asdict_gives_plain_data() -> None:
    """attrs.asdict turns a message into nested plain data (0.2.0's model_dump)."""
    stamp = datetime(2025, 1, 1)
    message = Message(value=3, metadata=MessageMetadata(timestamp=stamp, message_id="i"))
    assert attrs.asdict(message) == {
        "value": 3,
        "metadata": {
            "timestamp": stamp,
            "source": None,
            "message_id": "i",
            "correlation_id": None,
            "headers": {},
        },
    }
