"""The paper book's compact index from client tag to row: exact, whatever the tags and
however far the table has grown (including while its rows are moving to a larger one)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordod.brokers.base import client_tag
from ordod.brokers.paper.tag_index import TagIndex, pack

client_tags = st.text(min_size=1, max_size=12).map(client_tag)
# Tags Ordo does not make, some a character away from the shape it does.
odd_tags = st.text(max_size=34) | client_tags.map(str.upper) | client_tags.map(lambda t: t[:-1] + " ")
tags = st.lists(client_tags | odd_tags, unique=True, max_size=300)


def test_only_the_exact_client_tag_spelling_packs() -> None:
    tag = client_tag("key-1")
    assert pack(tag) == bytes.fromhex(tag[4:]) and len(pack(tag) or b"") == 13
    assert pack(tag.upper()) is None
    assert pack("ordo" + "ab " * 8 + "ab") is None  # fromhex would skip the spaces
    assert pack(tag[:-1]) is None and pack(tag + "0") is None
    assert pack("xxxx" + tag[4:]) is None
    assert pack(tag[:-1] + "g") is None


@given(tags)
def test_every_tag_is_found_at_its_row_and_no_other_tag_is(appended: list[str]) -> None:
    index = TagIndex()
    for row, tag in enumerate(appended):
        assert index.append(tag) == row
        assert index.find(tag) == row  # at once, even while the table is being moved
        assert index.find(appended[row // 2]) == row // 2
    assert len(index) == len(appended)
    assert [index.find(tag) for tag in appended] == list(range(len(appended)))
    assert [index.tag_of(row) for row in range(len(appended))] == appended
    assert index.find(client_tag("never appended")) is None
    assert index.find("never appended either") is None


def test_many_thousands_of_orders_are_found_after_many_doublings() -> None:
    index = TagIndex()
    appended = [client_tag(f"key-{i}") for i in range(20_000)]
    for tag in appended:
        index.append(tag)
    assert all(index.find(tag) == row for row, tag in enumerate(appended))
    assert sum(index.find(client_tag(f"other-{i}")) is not None for i in range(20_000)) == 0


def test_a_row_out_of_range_has_no_tag() -> None:
    index = TagIndex()
    index.append(client_tag("key-1"))
    with pytest.raises(IndexError):
        index.tag_of(1)
    with pytest.raises(IndexError):
        index.tag_of(-1)
