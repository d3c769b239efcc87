"""Client for synclayer's admin API, the routes under /api/v1 described by
api/openapi.yaml. Standard library only; Python 3.9 or later.

    from synclayer import Synclayer
    synclayer = Synclayer(base_url="http://127.0.0.1:8080")  # key from SYNCLAYER_API_KEY
    synclayer.skills.trigger("customer-sync", event="customer_created", data={"email": "ada@example.com"})

It mirrors the Go client (adminclient): every answer other than 2xx, and
every request that got no answer, raises SynclayerError. Answers are the
decoded JSON: dicts and lists, as api/openapi.yaml describes them.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Optional

__all__ = ["Synclayer", "SynclayerError"]
__version__ = "0.1.0"

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0


class SynclayerError(Exception):
    """What every call raises.

    For an answer from the server, status is its HTTP status, and code,
    message and field come from its {"error": {"code", "message", "field"}}
    body: code is "invalid", "unauthorized", "forbidden", "not_found",
    "conflict", "too_large" or "internal", and field names the input at
    fault ("options.list_id"), or is None. A body of another shape (a
    proxy's error page) gives code "http_<status>". With no answer at all,
    status is 0 and code is "timeout" or "network". The API key never
    appears in it.
    """

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field or None

    def __str__(self) -> str:
        msg = f"{self.field}: {self.message}" if self.field else self.message
        return f"{self.status} {self.code}: {msg}"

    def __repr__(self) -> str:
        return f"SynclayerError(status={self.status!r}, code={self.code!r}, message={self.message!r}, field={self.field!r})"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is answered as the error it is, so the key is never sent
    # to another address.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


_Request = Callable[..., Any]


class Synclayer:
    """Calls one synclayer server with one API key.

    base_url defaults to SYNCLAYER_URL, else http://127.0.0.1:8080; api_key
    to SYNCLAYER_API_KEY, and one of them is required (ValueError).
    timeout is in seconds per request, 30 by default.
    """

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT):
        if api_key is None:
            api_key = os.environ.get("SYNCLAYER_API_KEY")
        if not api_key:
            raise ValueError(
                "synclayer: no API key: pass api_key or set SYNCLAYER_API_KEY; "
                "create one with synclayer keys create --role viewer|operator|admin"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"synclayer: timeout must be a positive number of seconds, not {timeout!r}")
        self._base_url = (base_url or os.environ.get("SYNCLAYER_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key
        self._timeout = float(timeout)
        self._opener = urllib.request.build_opener(_NoRedirect)
        self.skills = Skills(self._request)
        self.contacts = Contacts(self._request)
        self.jobs = Jobs(self._request)
        self.dlq = DLQ(self._request)

    def __repr__(self) -> str:
        return f"Synclayer(base_url={self._base_url!r})"

    def stats(self, window: Optional[str] = None) -> Dict[str, Any]:
        """Each skill's delivery figures over window ("15m", "1h", "24h" or
        "7d"; default 1h) and its queue now (viewer)."""
        return self._request("GET", "/api/v1/stats", query={"window": window})

    def _request(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, body: Any = None, send: bool = False) -> Any:
        # Sends body as JSON when send is true and returns the decoded 2xx
        # answer, None for an empty one.
        url = self._base_url + path
        params = {k: v for k, v in (query or {}).items() if v is not None and v != ""}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": "Bearer " + self._api_key, "Accept": "application/json"}
        data = None
        if send:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        where = f"{method} {path}"
        try:
            with self._opener.open(req, timeout=self._timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            e.close()
            raise self._answer_error(e.code, raw) from None
        except (socket.timeout, TimeoutError) as e:
            raise SynclayerError(0, "timeout", f"{where}: no answer within {self._timeout:g} s") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise SynclayerError(0, "timeout", f"{where}: no answer within {self._timeout:g} s") from e
            raise SynclayerError(0, "network", self._redact(f"{where}: {e.reason}")) from e
        except (OSError, http.client.HTTPException) as e:
            raise SynclayerError(0, "network", self._redact(f"{where}: {e}")) from e
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise SynclayerError(status, "bad_answer", f"{where}: the answer is not JSON") from None

    def _answer_error(self, status: int, raw: bytes) -> SynclayerError:
        # Reads the server's error body, as the Go client does.
        text = raw.decode("utf-8", "replace")
        try:
            e = json.loads(text).get("error")
        except (ValueError, AttributeError):
            e = None
        if isinstance(e, dict) and isinstance(e.get("code"), str) and e["code"]:
            field = e.get("field")
            return SynclayerError(status, e["code"], self._redact(str(e.get("message") or "")), field if isinstance(field, str) else None)
        message = text.strip()[:200] or f"HTTP {status}"
        return SynclayerError(status, f"http_{status}", self._redact(message))

    def _redact(self, s: str) -> str:
        return s.replace(self._api_key, "[REDACTED]")


def _esc(s: Any) -> str:
    return urllib.parse.quote(str(s), safe="")


class Skills:
    """Reads and changes skills: synclayer.skills."""

    def __init__(self, request: _Request):
        self._request = request

    def list(self) -> List[Dict[str, Any]]:
        """Every skill, enabled or not (viewer)."""
        return self._request("GET", "/api/v1/skills")["skills"]

    def enable(self, name: str, config: Optional[Dict[str, Any]] = None, **fields: Any) -> Dict[str, Any]:
        """Enables or updates a skill with its whole config, in the shape of
        its block under skills: in synclayer.yaml (snake_case keys), given as
        config, as keyword arguments, or both (the keywords win). It applies
        at once and answers the skill with the config version it recorded
        (admin). An invalid config raises code "invalid" naming the field,
        and changes nothing.

            synclayer.skills.enable("customer-sync", source="shopify",
                                    field_mapping={"email": "email"}, options={"list_id": 5})
        """
        body = dict(config or {})
        body.update(fields)
        return self._request("PUT", f"/api/v1/skills/{_esc(name)}", body=body, send=True)

    def disable(self, name: str) -> Dict[str, Any]:
        """Stops a skill and keeps its config (admin)."""
        return self._request("POST", f"/api/v1/skills/{_esc(name)}/disable")

    def trigger(self, name: str, event: Optional[str] = None, data: Optional[Dict[str, Any]] = None, **fields: Any) -> Dict[str, Any]:
        """Pushes one event through the same validation and pipeline as a
        webhook (operator). data is the customer in the custom source's
        format: canonical field names ("email", "firstName"), "emailConsent",
        "attributes". It answers {"id", "status", "contactId"}: status
        "applied", "unchanged", or "failed" with a "reason". A disabled skill
        raises code "conflict". Other keyword arguments are sent as they are,
        so a misspelt one is refused naming it.
        """
        body = {k: v for k, v in {"event": event, "data": data}.items() if v is not None}
        body.update(fields)
        return self._request("POST", f"/api/v1/skills/{_esc(name)}/trigger", body=body, send=True)


class Contacts:
    """Reads canonical contacts (viewer): synclayer.contacts."""

    def __init__(self, request: _Request):
        self._request = request

    def get(self, contact_id: str) -> Dict[str, Any]:
        """One contact; an unknown ID raises code "not_found"."""
        return self._request("GET", f"/api/v1/contacts/{_esc(contact_id)}")

    def list(self, email: Optional[str] = None, phone: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Contacts by email or phone (E.164), newest first; with neither,
        the most recently changed. None is [], not an error."""
        return self._request("GET", "/api/v1/contacts", query={"email": email, "phone": phone, "limit": limit})["contacts"]

    def trace(self, contact_id: str) -> List[Dict[str, Any]]:
        """A contact's history, oldest first: each event with the rule that
        decided every field, and each delivery with what the destination
        answered."""
        return self._request("GET", f"/api/v1/contacts/{_esc(contact_id)}/trace")["trace"]


class Jobs:
    """Lists delivery jobs (viewer): synclayer.jobs."""

    def __init__(self, request: _Request):
        self._request = request

    def list(self, state: Optional[str] = None, skill: Optional[str] = None, limit: Optional[int] = None,
             queue: Optional[str] = None) -> List[Dict[str, Any]]:
        """Jobs in state (pending, running, done or dead; None for all),
        most recently updated first; skill keeps every queue of one skill,
        queue one queue (customer-sync@klaviyo)."""
        return self._request("GET", "/api/v1/jobs", query={"state": state, "skill": skill, "queue": queue, "limit": limit})["jobs"]


class DLQ:
    """Reads and resolves dead-lettered deliveries: synclayer.dlq."""

    def __init__(self, request: _Request):
        self._request = request

    def list(self, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """The dead jobs, each with the reason it gave up (viewer)."""
        return self._request("GET", "/api/v1/dlq", query={"limit": limit})["jobs"]

    def retry(self, job_id: int) -> Dict[str, Any]:
        """Puts a dead job back in the queue with a fresh retry budget
        (operator); an ID that is not dead raises code "not_found"."""
        return self._request("POST", f"/api/v1/dlq/{_esc(job_id)}/retry")

    def delete(self, job_id: int) -> None:
        """Discards a dead job for good (operator)."""
        self._request("DELETE", f"/api/v1/dlq/{_esc(job_id)}")
