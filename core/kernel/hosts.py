"""Which host a URL calls, read the way n8n (Node's WHATWG URL parser) reads it, and whether that
host is internal: loopback, private, link-local, unspecified, CGNAT, cloud metadata, or a name
that only resolves inside the server's network. No DNS lookup: a public name that resolves to an
internal address is n8n's own SSRF protection's job (`N8N_SSRF_PROTECTION_ENABLED`)."""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = "the cloud metadata service (it hands out the server's credentials)"
_SELF = "the n8n server itself"

# Checked in order: the first network that holds the address names why it is internal.
_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("169.254.169.254/32", METADATA),
        ("fd00:ec2::254/128", METADATA),
        ("0.0.0.0/8", f"an unspecified address (it reaches {_SELF})"),
        ("127.0.0.0/8", f"a loopback address ({_SELF})"),
        ("10.0.0.0/8", "a private network address"),
        ("172.16.0.0/12", "a private network address"),
        ("192.168.0.0/16", "a private network address"),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("169.254.0.0/16", "a link-local address"),
        ("192.0.0.0/24", "a special-purpose address"),
        ("198.18.0.0/15", "a benchmarking network address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", f"an unspecified address (it reaches {_SELF})"),
        ("::1/128", f"a loopback address ({_SELF})"),
        ("fc00::/7", "a private (unique local) network address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_NAMES = {
    "localhost": f"a name for {_SELF}",
    "localhost.localdomain": f"a name for {_SELF}",
    "ip6-localhost": f"a name for {_SELF}",
    "ip6-loopback": f"a name for {_SELF}",
    "metadata.google.internal": METADATA,
    "metadata.goog": METADATA,
    "metadata": METADATA,
    "instance-data": METADATA,
}
_SUFFIXES = {
    ".localhost": f"a name for {_SELF}",
    ".internal": "a name reserved for private networks",
    ".local": "a name reserved for the local network",
    ".home.arpa": "a name reserved for home networks",
}
_SINGLE_LABEL = "a single-label name, which only resolves inside the server's own network"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_OUTER_JUNK = re.compile(r"^[\x00-\x20]+|[\x00-\x20]+$")
# Code points the WHATWG parser refuses in a domain (after percent-decoding).
_FORBIDDEN = re.compile(r"[\x00-\x20#/:<>?@\[\\\]^|%\x7f]")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+")
# Characters Unicode normalisation (IDNA) turns into a dot.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@dataclass(frozen=True, slots=True)
class Internal:
    """An internal host a URL calls: `host` as written (decoded), the address it stands for (if
    any), and why it is internal, in words a user can read."""

    host: str
    ip: IPAddress | None
    why: str

    def shown(self) -> str:
        """The host, with the address it stands for when that reads differently."""
        if self.ip is None or str(self.ip) == self.host.strip("[]"):
            return self.host
        return f"{self.host} (= {self.ip})"


def url_host(url: str) -> str | None:
    """The host `url` calls, normalised; "" when it names none; None when the host is built at
    run time (an `={{ … }}` expression or a `{placeholder}` before the end of the host)."""
    text = url
    complete = True
    if text.startswith("="):
        text = text[1:]
        cut = text.find("{{")
        if cut >= 0:
            text, complete = text[:cut], False
    # What the WHATWG parser ignores or rewrites: outer spaces and controls, tabs and newlines
    # anywhere, and a backslash, which counts as a slash in http(s) URLs.
    text = _OUTER_JUNK.sub("", text)
    text = re.sub(r"[\t\r\n]", "", text).replace("\\", "/")
    scheme = _SCHEME.match(text)
    if scheme and (
        scheme.group(1).lower() in ("http", "https") or text[scheme.end() :].startswith("//")
    ):
        text = text[scheme.end() :].lstrip("/")
    # Without a scheme the text is read as host first (n8n users write "api.example.com/x").
    end = re.search(r"[/?#]", text)
    if end is None and not complete:
        return None
    authority = text[: end.start()] if end else text
    authority = authority.rsplit("@", 1)[-1]
    if "{" in authority:
        return None
    if authority.startswith("["):
        host = authority[: authority.find("]") + 1] if "]" in authority else authority
    else:
        host = authority.split(":", 1)[0]
    host = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).lower()
    return host[:-1] if host.endswith(".") and host != "." else host


def internal_host(host: str) -> Internal | None:
    """Why `host` (as `url_host` returns it) is internal, or None for a public host."""
    if not host:
        return None
    ip = _address(host)
    if ip is not None:
        why = _address_reason(ip)
        return Internal(host, _unwrap(ip), why) if why else None
    if host.startswith("[") or _FORBIDDEN.search(host):
        return None  # not a host n8n can call: the URL is invalid and the request fails
    if host in _NAMES:
        return Internal(host, None, _NAMES[host])
    for suffix, why in _SUFFIXES.items():
        if host.endswith(suffix):
            return Internal(host, None, why)
    if "." not in host:
        return Internal(host, None, _SINGLE_LABEL)
    return None


def _address(host: str) -> IPAddress | None:
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            return None
    labels = host.split(".")
    # Like the WHATWG parser: a host whose last label is a number is an IPv4 address in any of
    # the legacy forms inet_aton reads (2130706433, 0x7f000001, 0177.0.0.1, 127.1).
    if _LEGACY_IPV4.fullmatch(host) and re.fullmatch(r"[0-9]+|0x[0-9a-f]*", labels[-1]):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), else `ip`."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _address_reason(ip: IPAddress) -> str | None:
    for candidate in dict.fromkeys((ip, _unwrap(ip))):
        for net, why in _NETWORKS:
            if candidate.version == net.version and candidate in net:
                return why
    return None
