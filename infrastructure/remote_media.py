"""The API's handle on a media node in another process (`spaces media`): the same calls as
MediaNode, made over HTTP with an internal token. Only signalling goes through the API;
the audio flows between the client and the media node."""

from __future__ import annotations

from typing import Any

import httpx

from application.ports import BadOffer, MediaFull


class RemoteMedia:
    def __init__(self, base_url: str, token: str):
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/internal/media",
                                       headers={"Authorization": f"Bearer {token}"}, timeout=20)

    async def publish(self, space_id: str, host_id: str, user_id: str, offer: str,
                      audible: bool, recording: bool = False,
                      transcripts: bool = False) -> tuple[str, str]:
        return await self._session("publish", space_id=space_id, host_id=host_id,
                                   user_id=user_id, offer=offer, audible=audible,
                                   recording=recording, transcripts=transcripts)

    async def listen(self, space_id: str, host_id: str, user_id: str | None, offer: str,
                     recording: bool = False, transcripts: bool = False,
                     origin: str | None = None, edge: bool = False) -> tuple[str, str]:
        return await self._session("listen", space_id=space_id, host_id=host_id,
                                   user_id=user_id, offer=offer, recording=recording,
                                   transcripts=transcripts, origin=origin, edge=edge)

    async def resume(self, space_id: str, session_id: str, user_id: str | None,
                     offer: str) -> tuple[str, str | None]:
        response = await self._http.post(f"/sessions/{session_id}/resume", json={
            "space_id": space_id, "user_id": user_id, "offer": offer})
        if response.status_code == 400:
            raise BadOffer(response.json()["detail"])
        response.raise_for_status()
        resumed = response.json()
        return resumed["outcome"], resumed["answer"]

    async def end_session(self, space_id: str, session_id: str, user_id: str | None) -> str:
        response = await self._http.post(f"/sessions/{session_id}/end",
                                         json={"space_id": space_id, "user_id": user_id})
        response.raise_for_status()
        return response.json()["outcome"]

    async def package(self, space_id: str, host_id: str, recording: bool = False,
                      transcripts: bool = False) -> None:
        response = await self._http.post("/package", json={
            "space_id": space_id, "host_id": host_id, "recording": recording,
            "transcripts": transcripts})
        if response.status_code == 503:
            raise MediaFull(response.json()["detail"])
        response.raise_for_status()

    async def close(self) -> None:
        await self._http.aclose()

    async def _session(self, kind: str, **body: Any) -> tuple[str, str]:
        response = await self._http.post(f"/{kind}", json=body)
        if response.status_code == 400:
            raise BadOffer(response.json()["detail"])
        if response.status_code == 503:
            raise MediaFull(response.json()["detail"])
        response.raise_for_status()
        answer = response.json()
        return answer["session_id"], answer["answer"]
