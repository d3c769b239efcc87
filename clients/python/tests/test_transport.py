"""Tests that need no synclayer: each starts a local HTTP server that
answers what a server, a proxy or a dead network would."""

import json
import os
import socket
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's synclayer, installed or not

from synclayer import Synclayer, SynclayerError  # noqa: E402

KEY = "sl_TESTKEY0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCD"


class Stub:
    """A local server that records each request and answers with
    respond(handler) -> (status, headers, body), or never when it returns
    None."""

    def __init__(self, test, respond):
        self.requests = []
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                stub.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                answer = respond(self)
                if answer is None:
                    stub.release.wait(10)
                    return
                status, headers, payload = answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        test.addCleanup(self.close)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def answer(status, body=None, headers=None):
    payload = b"" if body is None else json.dumps(body).encode()
    return status, {"Content-Type": "application/json", **(headers or {})}, payload


class TransportTest(unittest.TestCase):
    def caught(self, call):
        with self.assertRaises(SynclayerError) as cm:
            call()
        return cm.exception

    def test_requests_carry_the_key_json_and_the_escaped_path(self):
        stub = Stub(self, lambda h: answer(204) if h.command == "DELETE" else answer(200, {"skills": [], "contacts": []}))
        synclayer = Synclayer(base_url=stub.url + "/prefix/", api_key=KEY)

        synclayer.skills.enable("a b/c", {"source": "shopify"}, options={"list_id": 5})
        synclayer.contacts.list(email="a+b@example.com", limit=5)
        self.assertIsNone(synclayer.dlq.delete(7))
        synclayer.skills.disable("customer-sync")

        put, listed, deleted, disabled = stub.requests
        self.assertEqual(put["method"], "PUT")
        self.assertEqual(put["path"], "/prefix/api/v1/skills/a%20b%2Fc")
        self.assertEqual(put["headers"]["Authorization"], "Bearer " + KEY)
        self.assertEqual(put["headers"]["Content-Type"], "application/json")
        self.assertEqual(json.loads(put["body"]), {"source": "shopify", "options": {"list_id": 5}})
        self.assertEqual(listed["path"], "/prefix/api/v1/contacts?email=a%2Bb%40example.com&limit=5")
        self.assertNotIn("Content-Type", listed["headers"])
        self.assertEqual((deleted["method"], deleted["path"]), ("DELETE", "/prefix/api/v1/dlq/7"))
        self.assertEqual((disabled["method"], disabled["body"]), ("POST", ""))

    def test_trigger_sends_event_and_data(self):
        stub = Stub(self, lambda h: answer(202, {"id": "ev_1", "status": "applied", "contactId": "ct_1"}))
        synclayer = Synclayer(base_url=stub.url, api_key=KEY)
        res = synclayer.skills.trigger("customer-sync", data={"email": "ada@example.com"}, event="customer_created")
        self.assertEqual(res, {"id": "ev_1", "status": "applied", "contactId": "ct_1"})
        self.assertEqual(json.loads(stub.requests[0]["body"]), {"event": "customer_created", "data": {"email": "ada@example.com"}})
        self.assertEqual(stub.requests[0]["path"], "/api/v1/skills/customer-sync/trigger")

    def test_key_comes_from_the_environment_and_is_required(self):
        stub = Stub(self, lambda h: answer(200, {"skills": []}))
        with mock.patch.dict(os.environ, {"SYNCLAYER_API_KEY": KEY, "SYNCLAYER_URL": stub.url}):
            synclayer = Synclayer()
            self.assertEqual(synclayer.skills.list(), [])
            self.assertNotIn(KEY, repr(synclayer))
        self.assertEqual(stub.requests[0]["headers"]["Authorization"], "Bearer " + KEY)
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaisesRegex(ValueError, "SYNCLAYER_API_KEY"):
                Synclayer(base_url=stub.url)
        with self.assertRaises(ValueError):
            Synclayer(base_url=stub.url, api_key=KEY, timeout=0)

    def test_error_body_becomes_status_code_message_and_field(self):
        stub = Stub(self, lambda h: answer(400, {"error": {"code": "invalid", "message": "must be 0 or more", "field": "options.list_id"}}))
        err = self.caught(lambda: Synclayer(base_url=stub.url, api_key=KEY).skills.enable("customer-sync", {}))
        self.assertEqual((err.status, err.code, err.message, err.field), (400, "invalid", "must be 0 or more", "options.list_id"))
        self.assertEqual(str(err), "400 invalid: options.list_id: must be 0 or more")
        self.assertIsNone(err.__cause__)

    def test_answer_of_another_shape_keeps_its_status_and_hides_the_key(self):
        # A proxy that echoes the request, key included, in a text error page.
        stub = Stub(self, lambda h: (502, {"Content-Type": "text/plain"}, f"bad gateway for {h.headers['Authorization']}".encode()))
        err = self.caught(lambda: Synclayer(base_url=stub.url, api_key=KEY).stats())
        self.assertEqual((err.status, err.code, err.field), (502, "http_502", None))
        self.assertEqual(err.message, "bad gateway for Bearer [REDACTED]")
        self.assertNotIn(KEY, repr(err))

    def test_slow_server_is_a_timeout(self):
        stub = Stub(self, lambda h: None)  # never answers
        started = time.monotonic()
        err = self.caught(lambda: Synclayer(base_url=stub.url, api_key=KEY, timeout=0.2).skills.list())
        self.assertEqual((err.status, err.code), (0, "timeout"))
        self.assertEqual(err.message, "GET /api/v1/skills: no answer within 0.2 s")
        self.assertLess(time.monotonic() - started, 5)

    def test_no_server_is_a_network_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        err = self.caught(lambda: Synclayer(base_url=f"http://127.0.0.1:{port}", api_key=KEY).dlq.list())
        self.assertEqual((err.status, err.code), (0, "network"))
        self.assertTrue(err.message.startswith("GET /api/v1/dlq: "), err.message)
        self.assertIsNotNone(err.__cause__)

    def test_redirect_is_not_followed(self):
        elsewhere = Stub(self, lambda h: answer(200, {"skills": []}))
        stub = Stub(self, lambda h: (307, {"Location": elsewhere.url + h.path}, b""))
        err = self.caught(lambda: Synclayer(base_url=stub.url, api_key=KEY).skills.list())
        self.assertEqual((err.status, err.code), (307, "http_307"))
        self.assertEqual(elsewhere.requests, [], "the request followed the redirect")


if __name__ == "__main__":
    unittest.main()
