"""MX lookups over UDP against one DNS server, as a sending MTA does them.

The lookups themselves are launcher/lib/dnsclient.py; this adds what a sender does with
them: a short cache and the choice among equal preferences.
"""
import random
import time

from dnsclient import lookup_mx


class MxResolver:
    """The MX set of a domain, re-asked every `ttl` seconds (a sender's cache).

    `choose(avoid)` returns one (host, address) among the best preference still
    reachable: equal preferences are picked at random per connection (RFC 5321
    5.1); `avoid` holds addresses that just failed, tried again only when every
    exchanger failed.
    """

    def __init__(self, dns_server, domain, port=25, ttl=5.0, static=None):
        self.dns_server, self.domain, self.port, self.ttl = dns_server, domain, port, ttl
        self.static = static  # a fixed [(preference, host, [addresses])] for targets outside the zone
        self._cached, self._cached_at = None, 0.0

    def exchangers(self):
        if self.static is not None:
            return self.static
        now = time.monotonic()
        if self._cached is None or now - self._cached_at > self.ttl:
            try:
                self._cached = lookup_mx(self.dns_server, self.domain)
                self._cached_at = now
            except (OSError, LookupError):
                if self._cached is None:
                    raise
        return self._cached

    def choose(self, avoid=()):
        by_preference = {}
        for preference, host, addresses in self.exchangers():
            for address in addresses:
                by_preference.setdefault(preference, []).append((host, (address, self.port)))
        for preference in sorted(by_preference):
            candidates = [c for c in by_preference[preference] if c[1] not in avoid]
            if candidates:
                return random.choice(candidates)
        everything = [c for p in sorted(by_preference) for c in by_preference[p]]
        if not everything:
            raise LookupError(f"no MX for {self.domain}")
        return random.choice(everything)
