"""Who is calling: the peer address, and a forwarded client address only from a trusted proxy.

`X-Forwarded-For` is a request header like any other: anyone can send it. It is read only when
the peer (the TCP connection's address) is one of `KNEETRACK_TRUSTED_PROXIES` (IP addresses or
networks, comma-separated; default none), and then the client is the right-most address that
is not itself a trusted proxy (RFC 7239 §5.2 reading of the chain). `kneetrack serve` runs
uvicorn without its own proxy-header rewriting, so `request.client` is always the peer."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from starlette.requests import HTTPConnection

from app.config import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache
def trusted_networks(spec: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


@dataclass(frozen=True)
class ClientAddress:
    peer: str | None
    forwarded: str | None  # only when the peer is a trusted proxy

    @property
    def effective(self) -> str:
        """The address rate limits count against: the forwarded client behind a trusted
        proxy, else the peer."""
        return self.forwarded or self.peer or "unknown"


def client_address(conn: HTTPConnection) -> ClientAddress:
    peer = conn.client.host if conn.client else None
    networks = trusted_networks(get_settings().trusted_proxies)
    if peer is None or not networks or not _trusted(peer, networks):
        return ClientAddress(peer, None)
    chain = [a.strip() for a in conn.headers.get("x-forwarded-for", "").split(",") if a.strip()]
    for address in reversed(chain):
        if not _trusted(address, networks):
            return ClientAddress(peer, address[:64])
    return ClientAddress(peer, chain[0][:64] if chain else None)


def is_local_operator(conn: HTTPConnection) -> bool:
    """A request from the host itself that no proxy forwarded: the peer is a loopback address
    and it carries no forwarding header (a reverse proxy on the same host adds one)."""
    peer = conn.client.host if conn.client else None
    if peer is None or "x-forwarded-for" in conn.headers or "forwarded" in conn.headers:
        return False
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False
