"""Where webhooks may be sent: http(s) URLs naming a host whose every address is public.
Loopback, private, link-local, multicast, reserved and unspecified addresses (IPv4, IPv6,
and IPv4 inside IPv6) are refused unless SPACES_WEBHOOKS_ALLOW_PRIVATE says otherwise, so
an operator's endpoint cannot be pointed at this machine or its network. The addresses are
checked when the endpoint is registered and again before every delivery (a name whose
addresses change later is caught then; between that check and the connection a resolver
could still answer differently)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from domain.errors import InvalidInput


def check_url(url: str, allow_private: bool) -> None:
    """InvalidInput unless webhooks may go to `url`."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("A webhook URL is http:// or https:// and names a host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("A webhook URL carries no user name or password; sign with the secret.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError, UnicodeError) as error:
        raise InvalidInput(f"The webhook's host does not resolve ({error}).") from None
    if allow_private:
        return
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise InvalidInput(f"The webhook's host has a loopback, private or reserved address "
                               f"({ip}); this server sends webhooks to public addresses only.")
