"""ASTM E1381 session layer: the receiver and sender state machines, alone and wired together."""

from __future__ import annotations

import pytest

from instruments.astm.codec import encode_frame, encode_frames
from instruments.astm.constants import ACK, ENQ, EOT, NAK
from instruments.astm.receiver import AstmReceiver
from instruments.astm.sender import AstmSender, SenderState
from instruments.astm.simulator import AstmSimulator, NakStormHost
from instruments.base import Decoded, DecodeError, Discarded, Send
from tests.instruments.wiring import accounted, wire

RECORDS = [b"H|\\^&|||SIM\r", b"O|1|S-1||^^^INH\r", b"R|1|^^^INH|55.0|%||H||F\r", b"L|1|N\r"]


def sends(events) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Send))


def session_start(rx: AstmReceiver, now: float = 0.0):
    events = rx.feed(ENQ, now)
    assert sends(events) == ACK
    return events


# -- receiver ------------------------------------------------------------------------------------

def test_receiver_full_message_acks_each_frame_and_decodes_at_eot():
    rx = AstmReceiver()
    session_start(rx)
    frames = encode_frames(RECORDS)
    replies = b"".join(sends(rx.feed(f, 1.0)) for f in frames)
    assert replies == ACK * len(frames)
    events = rx.feed(EOT, 2.0)
    (reading,) = [e.reading for e in events if isinstance(e, Decoded)]
    assert (reading.sample_id, reading.test_id, reading.values["value"]) == ("S-1", "INH", 55.0)
    assert reading.raw == frames[2]


def test_receiver_busy_naks_enq():
    rx = AstmReceiver(busy=True)
    events = rx.feed(ENQ, 0.0)
    assert sends(events) == NAK and not rx.in_session
    assert [e.raw for e in events if isinstance(e, Discarded)] == [ENQ]


def test_receiver_bad_checksum_nak_then_accepts_retransmission():
    rx = AstmReceiver()
    session_start(rx)
    good = encode_frame(1, RECORDS[0])
    bad = good[:-4] + b"00" + good[-2:]
    assert sends(rx.feed(bad, 1.0)) == NAK
    assert sends(rx.feed(good, 1.1)) == ACK


def test_receiver_duplicate_frame_acked_and_dropped():
    rx = AstmReceiver()
    session_start(rx)
    frames = encode_frames(RECORDS)
    rx.feed(frames[0], 1.0)
    rx.feed(frames[1], 1.0)
    events = rx.feed(frames[1], 1.1)          # the ACK was lost; the sender sent it again
    assert sends(events) == ACK
    assert any(isinstance(e, Discarded) and "duplicate frame 2" in e.why for e in events)
    for f in frames[2:]:
        rx.feed(f, 1.2)
    decoded = [e for e in rx.feed(EOT, 1.3) if isinstance(e, Decoded)]
    assert len(decoded) == 1


def test_receiver_wrong_frame_number_naked():
    rx = AstmReceiver()
    session_start(rx)
    events = rx.feed(encode_frame(3, RECORDS[0]), 1.0)
    assert sends(events) == NAK
    assert any("3 where 1 was expected" in e.why for e in events if isinstance(e, Discarded))


def test_receiver_joins_etb_continuation():
    rx = AstmReceiver()
    session_start(rx)
    long_result = b"R|1|^^^INH|12.5|%||||F||" + b"o" * 300 + b"\r"
    frames = encode_frames([RECORDS[0], RECORDS[1], long_result, RECORDS[3]])
    assert len(frames) == 5
    for f in frames:
        assert sends(rx.feed(f, 1.0)) == ACK
    (r,) = [e.reading for e in rx.feed(EOT, 2.0) if isinstance(e, Decoded)]
    assert r.operator == "o" * 300 and r.raw == frames[2] + frames[3]


def test_receiver_verified_intermediate_frame_is_continued():
    rx = AstmReceiver()
    session_start(rx)
    assert sends(rx.feed(b"\x021foo|1\rb\x17A8\r\n", 0.5)) == ACK
    events = rx.feed(EOT, 0.6)   # the message ends inside a record → explained error
    (err,) = [e for e in events if isinstance(e, DecodeError)]
    assert "ETB" in err.message and err.raw == b"\x021foo|1\rb\x17A8\r\n"


def test_receiver_timeout_discards_incomplete_message_with_its_bytes():
    rx = AstmReceiver()
    session_start(rx)
    frames = encode_frames(RECORDS)
    for f in frames[:2]:
        rx.feed(f, 1.0)
    rx.feed(b"\x023R|1|^^", 2.0)              # a frame cut off mid-way
    assert rx.poll(31.9) == []
    (err,) = rx.poll(32.0)
    assert isinstance(err, DecodeError) and "30 s" in err.message
    assert err.raw == frames[0] + frames[1] + b"\x023R|1|^^"
    assert not rx.in_session


def test_receiver_noise_outside_session_discarded():
    rx = AstmReceiver()
    data = b"\x00garbage\x02\x03\r\n\x04"
    events = rx.feed(data, 0.0)
    assert [type(e) for e in events] == [Discarded]
    assert accounted(events) == len(data) and not rx.in_session


def test_receiver_restart_mid_message():
    rx = AstmReceiver()
    session_start(rx)
    frames = encode_frames(RECORDS)
    rx.feed(frames[0], 1.0)
    events = rx.feed(ENQ, 2.0)
    (err,) = [e for e in events if isinstance(e, DecodeError)]
    assert "new ENQ" in err.message and err.raw == frames[0]
    assert sends(events) == ACK and rx.in_session


def test_receiver_stray_line_is_naked():
    rx = AstmReceiver()
    session_start(rx)
    events = rx.feed(b"1H|\\^&\r\x0300\r\n", 1.0)        # a frame whose STX was lost
    assert sends(events) == NAK


# -- sender --------------------------------------------------------------------------------------

def test_sender_nak_on_enq_waits_10_s_then_retries():
    tx = AstmSender()
    tx.send(RECORDS)
    assert tx.poll(0.0) == ENQ
    tx.receive(NAK, 0.1)
    assert tx.poll(5.0) == b"" and tx.poll(10.0) == b""
    assert tx.poll(10.1) == ENQ


def test_sender_waits_15_s_for_a_reply_then_ends_with_eot():
    tx = AstmSender()
    tx.send(RECORDS)
    tx.poll(0.0)
    tx.receive(ACK, 0.0)
    assert tx.poll(0.1).startswith(b"\x021")
    assert tx.poll(15.0) == b""
    assert tx.poll(15.1) == EOT
    assert tx.results[-1].ok is False and "no reply" in tx.results[-1].why


def test_sender_gives_up_after_6_failures_of_one_frame():
    tx = AstmSender()
    tx.send(RECORDS)
    tx.poll(0.0)
    tx.receive(ACK, 0.0)
    first = tx.poll(0.0)
    transmissions = [first]
    for i in range(6):
        tx.receive(NAK, 1.0 + i)
        transmissions.append(tx.poll(1.0 + i))
    assert transmissions[:6] == [first] * 6          # the same frame each time
    assert transmissions[6] == EOT                    # sixth rejection → EOT
    assert tx.results[-1].ok is False and "rejected 6 times" in tx.results[-1].why


def test_sender_treats_other_replies_as_nak():
    tx = AstmSender()
    tx.send(RECORDS)
    tx.poll(0.0)
    tx.receive(ACK, 0.0)
    frame = tx.poll(0.0)
    tx.receive(b"x", 0.5)
    assert tx.poll(0.6) == frame and tx.frame_failures == 1


def test_contention_instrument_wins_computer_waits_20_s():
    instrument, computer = AstmSender(role="instrument"), AstmSender(role="computer")
    host_rx, inst_rx = AstmReceiver(), AstmReceiver()
    instrument.send(RECORDS)
    computer.send([b"H|\\^&|||LIS\r", b"Q|1|^S-1||ALL\r", b"L|1|N\r"])
    # both send ENQ at the same moment
    assert instrument.poll(0.0) == ENQ and computer.poll(0.0) == ENQ
    instrument.receive(ENQ, 0.01)
    computer.receive(ENQ, 0.01)
    assert computer.peer_wants_to_send and computer.state is SenderState.IDLE
    assert instrument.state is SenderState.IDLE
    # the instrument retries after 1 s; the computer has to wait 20 s
    assert instrument.poll(0.5) == b"" and computer.poll(0.5) == b""
    t, delivered = 1.1, []
    to_host = instrument.poll(t)
    assert to_host == ENQ
    while instrument.busy and t < 15:
        for e in host_rx.feed(to_host, t):
            if isinstance(e, Send):
                instrument.receive(e.data, t)
            elif isinstance(e, Decoded):
                delivered.append(e.reading)
        assert computer.poll(t) == b""               # silent while the instrument sends
        t += 0.1
        to_host = instrument.poll(t)
    delivered += [e.reading for e in host_rx.feed(to_host, t) if isinstance(e, Decoded)]
    assert instrument.results[-1].ok
    assert [r.sample_id for r in delivered] == ["S-1"]
    assert computer.poll(19.9) == b"" and computer.poll(20.1) == ENQ
    assert inst_rx.feed(ENQ, 20.2)[-1] == Send(ACK)


# -- wired: simulator (sender) against receiver, with each fault -----------------------------------

FAULT_CASES = [(), ("corrupt_checksum",), ("drop_byte",), ("garbage",), ("nak_storm",),
               ("silence",), ("restart_mid_message",),
               ("corrupt_checksum", "drop_byte", "garbage")]


@pytest.mark.parametrize("faults", FAULT_CASES, ids=lambda f: "+".join(f) or "clean")
def test_simulator_against_receiver_every_result_arrives_once(faults):
    sim = AstmSimulator(count=4, seed=7, faults=faults, results_per_message=2)
    w = wire(sim, AstmReceiver())
    assert len(sim.delivered) == 4 and not sim.failed
    keys = [r.extra["message_key"] for r in w.decoded]
    assert len(keys) == 8 and len(set(keys)) == 8
    assert sorted({r.sample_id for r in w.decoded}) == [f"SIM{i:05d}" for i in range(1, 5)]
    assert accounted(w.events) == len(w.sent_by_sim)
    if faults:
        assert NAK in w.replies or w.errors or any("noise" in d.why for d in w.discarded)
    if "corrupt_checksum" in faults or "nak_storm" in faults:
        assert w.replies.count(NAK) >= (6 if "nak_storm" in faults else 4)
    if "silence" in faults:
        assert any("no data for 30 s" in e.message for e in w.errors)
    if "restart_mid_message" in faults:
        assert any("new ENQ" in e.message for e in w.errors)


def test_nak_storm_host_makes_sender_give_up_then_message_resent():
    sim = AstmSimulator(count=1, seed=3)
    host = NakStormHost(AstmReceiver(), storm=6)
    w = wire(sim, host)
    assert host.naks_sent == 6
    assert sim.sender.results[0].ok is False and "rejected 6 times" in sim.sender.results[0].why
    assert sim.sender.results[-1].ok
    assert len(w.decoded) == 2
    assert accounted(w.events) == len(w.sent_by_sim)


def test_same_message_replayed_gives_same_keys():
    a = wire(AstmSimulator(count=2, seed=5), AstmReceiver())
    b = wire(AstmSimulator(count=2, seed=5, faults=("corrupt_checksum", "garbage")),
             AstmReceiver())
    assert [r.extra["message_key"] for r in a.decoded] == \
        [r.extra["message_key"] for r in b.decoded]
    assert [r.raw for r in a.decoded] == [r.raw for r in b.decoded]


def test_unknown_fault_is_refused_with_the_supported_list():
    with pytest.raises(ValueError, match="supported"):
        AstmSimulator(faults=("overload",))
