"""URLs as the monitor compares and trusts them: canonical form and address safety.

Everything here is pure: `canonical_url` turns the many spellings of one article address into
one key, and `classify_address` says what kind of network an IP address belongs to. Name
resolution happens at the HTTP edge (monitor.polling.fetch), which hands the addresses back here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.errors import UnsafeURLError

AddressKind = Literal["public", "loopback", "private", "link-local", "reserved"]

ALLOWED_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Tracking parameters that never select different content; utm_* is the one the issue names,
# the click ids are as common in news feeds and as meaningless for identity.
_TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid"})


def canonical_url(url: str) -> str:
    """One stable spelling per address: lower-case scheme and host, no default port, no
    fragment, no utm_* parameters, remaining parameters sorted, "/" for an empty path.

    canonical_url(canonical_url(u)) == canonical_url(u) for every u.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    host = _idna(host)
    port = parts.port if parts.port != _DEFAULT_PORTS.get(scheme) else None
    if ":" in host:  # an IPv6 literal keeps its brackets in the netloc
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def _idna(host: str) -> str:
    host = host.lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host  # left as is: the fetch will fail and name it


def is_web_url(url: str | None) -> bool:
    """Whether a URL that came from the web may be offered as a link or a feed: http(s) with a
    host, well formed. Anything else (javascript:, data:, "http://[::1") is shown, never followed.
    """
    if not url:
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed host or port
    except ValueError:
        return False
    return parts.scheme.lower() in ALLOWED_SCHEMES and bool(parts.hostname)


def check_scheme(url: str) -> str:
    """The URL's host name, after refusing anything but http and https."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURLError(
            f"{url}: only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}",
            url=url,
        )
    if not parts.hostname:
        raise UnsafeURLError(f"{url}: the URL has no host name", url=url)
    return parts.hostname


def classify_address(address: str) -> AddressKind:
    """What kind of network an IPv4 or IPv6 address belongs to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, not a public v6 address
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    # Checked before is_private: Python counts 0.0.0.0/8 and documentation ranges as private.
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "reserved"
    if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED):
        return "private"
    if not ip.is_global:
        return "reserved"
    return "public"


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not reachable publicly


def refused_address(addresses: Iterable[str]) -> tuple[str, AddressKind] | None:
    """The first address that is not public, with its kind; None when all are public.

    Every address must pass, not just the first: a resolver may hand out either.
    """
    for address in addresses:
        kind = classify_address(address)
        if kind != "public":
            return address, kind
    return None


def is_literal_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """Whether a host name or address is this machine's loopback: localhost (and names under
    .localhost, which resolvers keep local) or an address in 127.0.0.0/8 or ::1."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    return is_literal_address(name) and classify_address(name) == "loopback"
