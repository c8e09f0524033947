"""Which local addresses ICE offers. aioice offers every interface but loopback; a media
node here must stay on the addresses it is given (127.0.0.1 by default)."""

from __future__ import annotations

import aioice.ice

_addresses: list[str] = ["127.0.0.1"]


def use_host_addresses(addresses: list[str]) -> None:
    _addresses[:] = addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [a for a in _addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


aioice.ice.get_host_addresses = _host_addresses  # aioice 0.13 looks it up at gathering time
