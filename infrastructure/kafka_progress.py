"""How far the Kafka-fed views have got, for `?after=` reads, /healthz and /metrics.

Once the relay's recorded position reaches P, every event up to P sits at or below
the relay's recorded last offset of its partition; when the workers have consumed
up to those offsets, the views include P.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projections.runner import poll_until, views_position

if TYPE_CHECKING:
    from application.ports import Views


class KafkaViewsProgress:
    def __init__(self, views: Views, topic: str):
        self.views = views
        self.topic = topic

    def relay_position(self) -> int:
        row = self.views.row("SELECT position FROM relay_position WHERE topic = ?", (self.topic,))
        return row["position"] if row else 0

    def partitions(self) -> list[dict[str, Any]]:
        """Per partition: what the relay published and what the workers applied."""
        return self.views.rows(
            "SELECT r.partition, r.last_offset AS published_offset, r.position AS published_position, "
            "COALESCE(k.last_offset, -1) AS applied_offset, COALESCE(k.position, 0) AS applied_position, "
            "k.worker, EXTRACT(EPOCH FROM (r.published_at - COALESCE(k.applied_at, r.published_at))) "
            "AS seconds_behind FROM relay_offsets r LEFT JOIN kafka_positions k "
            "ON k.topic = r.topic AND k.partition = r.partition WHERE r.topic = ? ORDER BY r.partition",
            (self.topic,))

    def _rebuilt_up_to(self) -> int:
        return views_position(self.views)

    def position(self) -> int:
        """Every event up to this position is in the views."""
        relay = self.relay_position()
        lagging = [p["applied_position"] for p in self.partitions()
                   if p["applied_offset"] < p["published_offset"]]
        caught_up = relay if not lagging else min(lagging)
        return max(caught_up, self._rebuilt_up_to())

    def wait_for(self, position: int, timeout: float) -> bool:
        targets: dict[int, int] | None = None  # partition -> offset holding `position`

        def caught_up() -> bool:
            nonlocal targets
            if targets is None and self.relay_position() >= position:
                targets = {p["partition"]: p["published_offset"] for p in self.partitions()}
            if targets is not None:
                applied = {p["partition"]: p["applied_offset"] for p in self.partitions()}
                if all(applied.get(k, -1) >= offset for k, offset in targets.items()):
                    return True
            return self._rebuilt_up_to() >= position

        return poll_until(caught_up, timeout)
