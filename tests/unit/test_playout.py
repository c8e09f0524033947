"""A speaker's playout buffer: order, FEC, concealment, retransmissions, bounds; and the
libopus binding under it."""

from __future__ import annotations

import numpy as np

from media.libopus import DTX_PACKET, FRAME, Decoder, Encoder
from media.playout import Playout

RATE = 48_000


def tone(frames: int, hz: float = 440.0) -> list[np.ndarray]:
    t = np.arange(frames * FRAME) / RATE
    wave = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return [wave[i * FRAME:(i + 1) * FRAME] for i in range(frames)]


def packets(frames: int) -> list[bytes]:
    encoder = Encoder(loss_percent=20, dtx=False)
    return [encoder.encode(frame) for frame in tone(frames)]


def play(playout: Playout, ticks: int) -> list[np.ndarray | None]:
    return [playout.frame() for _ in range(ticks)]


def test_packets_in_order_play_in_order_one_per_tick_after_a_hold_of_one():
    playout = Playout(hold=1)
    stream = packets(10)
    playout.push(stream[0], 0)
    assert playout.frame() is None  # holds until the next packet is here
    for sequence in range(1, 10):
        playout.push(stream[sequence], sequence)
        assert playout.frame() is not None
    assert playout.stats.received == 10 and playout.stats.concealed == 0


def test_a_lost_packet_is_rebuilt_from_the_next_ones_fec():
    # a new pitch every frame: concealment can only guess it, the FEC carries it
    pitches = np.random.default_rng(7).uniform(200, 2000, 40)
    frames = [tone(1, hz)[0] for hz in pitches]
    encoder = Encoder(fec=True, loss_percent=20, dtx=False)
    stream = [encoder.encode(frame) for frame in frames]
    reference, lossy = Decoder(), Decoder()
    recovered, concealed = [], []
    for sequence, payload in enumerate(stream[:-1]):
        heard = reference.decode(payload)
        if sequence >= 5 and sequence % 5 == 0:
            recovered.append(similarity(lossy.recover(stream[sequence + 1]), heard))
            concealed.append(similarity(Decoder().conceal(), heard))
        else:
            lossy.decode(payload)
    assert np.median(recovered) > 0.8 > np.median(concealed), (recovered, concealed)
    playout = Playout()
    for sequence, payload in enumerate(stream):
        if sequence % 10 != 5:  # every tenth packet lost
            playout.push(payload, sequence)
        playout.frame()
    assert playout.stats.recovered == 4 and playout.stats.concealed == 0


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def test_two_lost_in_a_row_conceal_the_first_and_recover_the_second():
    playout = Playout()
    stream = packets(10)
    for sequence in (0, 1, 4, 5, 6):
        playout.push(stream[sequence], sequence)
    assert all(f is not None for f in play(playout, 5))
    assert (playout.stats.concealed, playout.stats.recovered) == (1, 1)


def test_a_retransmission_before_its_turn_fills_the_gap_and_a_late_one_is_dropped():
    playout = Playout(hold=2, longest=6)
    stream = packets(8)
    for sequence in (0, 1, 3):
        playout.push(stream[sequence], sequence)
    playout.push(stream[2], 2)  # the NACKed packet, in time
    play(playout, 4)
    assert playout.stats.recovered == playout.stats.concealed == 0
    playout.push(stream[1], 1)  # its turn is past
    assert playout.stats.late == 1


def test_reordered_packets_play_in_sequence_order():
    playout = Playout(hold=2, longest=8)
    stream = packets(6)
    for sequence in (1, 0, 2, 4, 3, 5):
        playout.push(stream[sequence], sequence)
    assert playout.next == 0
    play(playout, 6)
    assert playout.stats.recovered == playout.stats.concealed == playout.stats.late == 0


def test_sequence_numbers_wrap_around():
    playout = Playout()
    stream = packets(6)
    for i, sequence in enumerate((65533, 65534, 65535, 0, 1, 2)):
        playout.push(stream[i], sequence)
        playout.frame()
    assert playout.stats.received == 6 and playout.stats.late == 0 and playout.next == 65533 + 5


def test_the_buffer_never_holds_more_than_its_longest():
    playout = Playout(longest=4)
    for sequence, payload in enumerate(packets(10)):
        playout.push(payload, sequence)  # nobody plays: the oldest go
    assert len(playout.packets) <= 4 and playout.stats.dropped == 6


def test_a_paused_speaker_is_concealed_briefly_then_silent_and_held_again():
    playout = Playout()
    stream = packets(20)
    for sequence in range(3):
        playout.push(stream[sequence], sequence)
    heard = play(playout, 12)
    assert heard[:3] == [h for h in heard[:3] if h is not None] and heard[-1] is None
    assert playout.stats.concealed < 5


def test_the_encoder_changes_its_expected_loss_and_goes_quiet_in_silence():
    encoder = Encoder(dtx=True)
    encoder.expect_loss(15)
    assert encoder.loss_percent == 15
    silent = [len(encoder.encode(np.zeros(FRAME, dtype=np.float32))) for _ in range(40)]
    assert min(silent) <= DTX_PACKET
    decoder = Decoder()
    assert decoder.decode(b"\xff\xff\xff") is not None  # garbage: silence, not an exception


def test_a_buffer_deeper_than_its_hold_for_a_second_sheds_a_frame():
    playout = Playout(hold=1, longest=8)
    stream = packets(200)
    for sequence in range(4):  # a hiccup: four at once
        playout.push(stream[sequence], sequence)
    for sequence in range(4, 200):
        playout.frame()
        playout.push(stream[sequence], sequence)
    assert playout.highest - playout.next <= 2 and playout.stats.dropped >= 1



def arrive(playout: Playout, stream: list[bytes], sequences: list[int | None]) -> None:
    """Each tick one packet comes (None: it was lost) just before the mix takes a frame."""
    for sequence in sequences:
        if sequence is not None:
            playout.push(stream[sequence], sequence)
        playout.frame()


def a_late_resend_then_a_loss(playout: Playout, stream: list[bytes]) -> None:
    arrive(playout, stream, [0, 1, 2, 3, 4, None, 6])  # 5 lost: concealed at its turn
    playout.push(stream[5], 5)  # its resend, after its turn
    assert (playout.stats.late, playout.hold) == (1, 2)
    arrive(playout, stream, [7, 8, None, 10])  # 9 lost: the buffer waits a tick for it
    playout.push(stream[9], 9)  # the resend, as slow as 5's: now in time


def test_a_packet_after_its_turn_lengthens_the_hold_so_the_next_resend_is_in_time():
    playout = Playout(hold=1, longest=4, fec=False)
    stream = packets(20)
    a_late_resend_then_a_loss(playout, stream)
    arrive(playout, stream, list(range(11, 20)))
    assert playout.stats.late == 1 and playout.stats.concealed == 2  # 5, and the tick waited
    assert playout.highest - playout.next == 1  # a frame deeper than before the losses


def test_a_lengthened_hold_comes_back_down_after_ten_calm_seconds():
    playout = Playout(hold=1, longest=4, fec=False)
    stream = packets(700)
    a_late_resend_then_a_loss(playout, stream)
    arrive(playout, stream, list(range(11, 700)))
    assert playout.hold == 1 and playout.stats.dropped == 1  # shed the frame it had waited
    assert playout.highest - playout.next == 0
