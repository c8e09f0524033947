"""Webhooks for integrators: operators (auditor tokens) register endpoints, read their
delivery log and replay them from a position (infrastructure/webhooks.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import BIGINT, Auditor, SystemDep, parse_id
from api.schemas import Delivery, DeliveryPage, NewWebhook, Replay, WebhookCreated, WebhookView
from infrastructure.webhooks import message_id

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "event_types": row["event_types"].split(), "active": bool(row["active"])}


@router.post("", status_code=201, response_model=WebhookCreated)
def register(body: NewWebhook, caller: Auditor, system: SystemDep, response: Response) -> WebhookCreated:
    """Every matching Space event from now on is POSTed to `url` as JSON, signed per
    Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), in order
    per Space, retried with exponential backoff for up to a day."""
    created = system.webhooks.register(body.url, body.event_types, body.secret,
                                       caller.subject, system.app.position())
    response.headers["Location"] = f"/v1/webhooks/{created['id']}"
    return WebhookCreated(**_view(created))


@router.get("", response_model=list[WebhookView])
def endpoints(_: Auditor, system: SystemDep) -> list[WebhookView]:
    return [WebhookView(**_view(row)) for row in system.webhooks.all()]


@router.delete("/{webhook_id}", status_code=204)
def remove(webhook_id: str, _: Auditor, system: SystemDep) -> Response:
    """Nothing more is sent to it (what was waiting is given up); its log stays."""
    system.webhooks.remove(str(parse_id(webhook_id, "webhook")))
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage)
def deliveries(webhook_id: str, _: Auditor, system: SystemDep,
               cursor: Annotated[int | None, Query(ge=0, le=BIGINT)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> DeliveryPage:
    """Every delivery, oldest first: its state, attempts, last status and error."""
    found = str(parse_id(webhook_id, "webhook"))
    rows = system.webhooks.deliveries(found, cursor, limit)
    return DeliveryPage(items=[Delivery(**row, webhook_id=message_id(found, row["position"]))
                               for row in rows],
                        next_cursor=rows[-1]["position"] if len(rows) == limit else None)


@router.post("/{webhook_id}/replay", status_code=202)
def replay(webhook_id: str, body: Replay, _: Auditor, system: SystemDep) -> dict[str, Any]:
    """Sends again every matching event from `from_position` on, in order per Space, with
    the same webhook-ids (events from before the endpoint was registered included)."""
    system.webhooks.replay(str(parse_id(webhook_id, "webhook")), body.from_position)
    return {"id": webhook_id, "from_position": body.from_position}
