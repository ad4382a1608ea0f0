"""The daemon's multipart helpers behave exactly like pyzmq's send_multipart/recv_multipart with
NOBLOCK: the same frames on the wire, and the same errors when a socket would block or is gone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import zmq

from ordod.multipart import readable, recv_nowait, send_nowait

MESSAGES = [[b"only"], [b"identity", b"", b'{"ok":true}'], [b"", b"x" * 100_000, b""]]


@pytest.fixture
def pair() -> Iterator[tuple[zmq.Socket[bytes], zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    a.bind("inproc://multipart")
    b.connect("inproc://multipart")
    try:
        yield a, b
    finally:
        a.close(0)
        b.close(0)
        ctx.term()


def wait_readable(sock: zmq.Socket[bytes]) -> None:
    assert sock.poll(5000, zmq.POLLIN)


@pytest.mark.parametrize("frames", MESSAGES)
def test_send_nowait_delivers_what_send_multipart_delivers(
    pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]], frames: list[bytes]
) -> None:
    a, b = pair
    a.send_multipart(frames, flags=zmq.NOBLOCK)
    send_nowait(a, frames)
    wait_readable(b)
    assert b.recv_multipart() == frames
    wait_readable(b)
    assert b.recv_multipart() == frames


@pytest.mark.parametrize("frames", MESSAGES)
def test_recv_nowait_takes_one_whole_message_like_recv_multipart(
    pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]], frames: list[bytes]
) -> None:
    a, b = pair
    a.send_multipart(frames)
    a.send_multipart([b"next"])
    wait_readable(b)
    assert recv_nowait(b) == frames
    wait_readable(b)
    assert recv_nowait(b) == [b"next"]


def test_recv_nowait_raises_again_when_nothing_waits(pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]]) -> None:
    _, b = pair
    with pytest.raises(zmq.Again):
        b.recv_multipart(zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        recv_nowait(b)


def test_send_nowait_raises_again_when_it_would_block() -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    push = ctx.socket(zmq.PUSH)  # no peer: a send would wait for one
    try:
        with pytest.raises(zmq.Again):
            push.send_multipart([b"a", b"b"], flags=zmq.NOBLOCK)
        with pytest.raises(zmq.Again):
            send_nowait(push, [b"a", b"b"])
    finally:
        push.close(0)
        ctx.term()


def test_both_refuse_a_closed_socket_with_the_same_zmq_error() -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    sock.close(0)
    try:
        with pytest.raises(zmq.ZMQError) as theirs:
            sock.send_multipart([b"a", b"b"], flags=zmq.NOBLOCK)
        with pytest.raises(zmq.ZMQError) as ours:
            send_nowait(sock, [b"a", b"b"])
        with pytest.raises(zmq.ZMQError) as ours_recv:
            recv_nowait(sock)
    finally:
        ctx.term()
    assert ours.value.errno == theirs.value.errno == zmq.ENOTSOCK
    assert ours_recv.value.errno == zmq.ENOTSOCK


def test_readable_says_whether_a_message_waits(pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]]) -> None:
    a, b = pair
    assert not readable(b)
    a.send_multipart([b"x", b"y"])
    wait_readable(b)
    assert readable(b)
    recv_nowait(b)
    assert not readable(b)
