"""LogTail: handed-over batches are used only when they carry on from the position; every
gap is read from the log, so nothing is skipped and nothing is seen twice."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import Notification

from application.log_tail import LogTail


def notes(*ids: int, topic: str = "t") -> list[Notification]:
    return [Notification(id=i, originator_id=uuid4(), originator_version=1, topic=topic,
                         state=b"{}") for i in ids]


class Log:
    """A notification log of events 1..end that counts how often it is read."""

    def __init__(self, end: int):
        self.events = notes(*range(1, end + 1))
        self.reads = 0

    def select_notifications(self, start: int, limit: int, inclusive_of_start: bool,
                             topics: tuple[str, ...] = ()):
        self.reads += 1
        return [n for n in self.events if n.id > start and (not topics or n.topic in topics)][:limit]


def ids(batch) -> list[int]:
    return [n.id for n in batch]


def test_a_batch_that_carries_on_from_the_position_is_taken_without_reading_the_log():
    log = Log(12)
    tail = LogTail(log)
    tail.offer(notes(11, 12))
    assert ids(tail.after(10, limit=100)) == [11, 12]
    assert log.reads == 0


def test_batches_that_follow_on_are_taken_together():
    tail = LogTail(Log(14))
    for batch in (notes(11, 12), notes(13), notes(14)):
        tail.offer(batch)
    assert ids(tail.after(10, limit=3)) == [11, 12, 13]
    assert ids(tail.after(13, limit=3)) == [14]


def test_a_gap_before_a_handed_over_batch_is_read_from_the_log_and_the_batch_used_after():
    log = Log(12)
    tail = LogTail(log)
    tail.offer(notes(11, 12))  # events 9 and 10 were stored by another process
    assert ids(tail.after(8, limit=2)) == [9, 10]
    assert log.reads == 1
    assert ids(tail.after(10, limit=2)) == [11, 12]
    assert log.reads == 1


def test_batches_already_seen_are_dropped_and_a_partly_seen_one_gives_the_rest():
    tail = LogTail(Log(12))
    tail.offer(notes(5, 6))
    tail.offer(notes(7, 8, 9))
    assert ids(tail.after(7, limit=100)) == [8, 9]


def test_a_fed_step_reads_nothing_past_its_feeder_but_a_full_catch_up_reads_to_the_end():
    log = Log(12)
    tail = LogTail(log, known_end=lambda: 10)
    assert tail.after(10, limit=100, fed=True) == []
    assert log.reads == 0
    assert ids(tail.after(8, limit=100, fed=True)) == [9, 10, 11, 12]  # behind it: a gap
    assert ids(tail.after(10, limit=100)) == [11, 12]
    assert log.reads == 2


def test_exhausted_only_when_the_batch_was_short_and_nothing_more_is_handed_over():
    tail = LogTail(Log(12))
    assert tail.exhausted(notes(1), limit=2)
    assert not tail.exhausted(notes(1, 2), limit=2)
    tail.offer(notes(3))
    assert not tail.exhausted(notes(1), limit=2)


def test_a_tail_of_some_topics_reads_only_those():
    log = Log(0)
    log.events = notes(1, 3, topic="taken") + notes(2, topic="other") + notes(4, 5, topic="taken")
    log.events.sort(key=lambda n: n.id)
    tail = LogTail(log, topics=["taken"])
    assert ids(tail.after(0, limit=2)) == [1, 3]
    assert ids(tail.after(3, limit=2)) == [4, 5]
