"""Tests against a live synclayer server: SYNCLAYER_URL, an admin key in
SYNCLAYER_API_KEY and a viewer key in SYNCLAYER_VIEWER_KEY. They change
customer-sync's config and put its old config back at the end, so point
them at a test server only. cmd/synclayer's TestClients starts one and runs
them.
"""

import os
import sys
import time
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's synclayer, installed or not

from synclayer import Synclayer, SynclayerError  # noqa: E402

URL = os.environ.get("SYNCLAYER_URL")
ADMIN_KEY = os.environ.get("SYNCLAYER_API_KEY")
VIEWER_KEY = os.environ.get("SYNCLAYER_VIEWER_KEY")
RUN = uuid.uuid4().hex[:8]
NAME = "customer-sync"


@unittest.skipUnless(URL and ADMIN_KEY, "set SYNCLAYER_URL and SYNCLAYER_API_KEY (an admin key) to run against a server")
class ServerTest(unittest.TestCase):
    # The tests share the server's one customer-sync; unittest runs them
    # one at a time, in name order.

    @classmethod
    def setUpClass(cls):
        cls.synclayer = Synclayer(base_url=URL, api_key=ADMIN_KEY)
        cls.original = cls.skill()
        cls.source = cls.original["config"].get("source", "shopify")

    @classmethod
    def tearDownClass(cls):
        if cls.original["enabled"]:
            cls.synclayer.skills.enable(NAME, cls.original["config"])
        else:
            cls.synclayer.skills.disable(NAME)

    @classmethod
    def skill(cls):
        for sk in cls.synclayer.skills.list():
            if sk["name"] == NAME:
                return sk
        raise AssertionError(f"the server lists no {NAME}")

    def assertError(self, call, status, code, field=None, key=ADMIN_KEY):
        """Checks that call raises a SynclayerError of status and code,
        naming field, that does not show key."""
        with self.assertRaises(SynclayerError) as cm:
            call()
        err = cm.exception
        self.assertEqual((err.status, err.code, err.field), (status, code, field), str(err))
        self.assertTrue(err.message, "the error has the server's message")
        for shown in (str(err), repr(err), err.message, str(err.args)):
            self.assertNotIn(key, shown)
        return err

    def test_enable_with_mapping_then_list_shows_it(self):
        mapping = {"email": "email", "firstName": "FIRSTNAME", "lastName": "LASTNAME"}
        sk = self.synclayer.skills.enable(NAME, config={"source": self.source, "field_mapping": mapping, "options": {"list_id": 5}})
        self.assertEqual((sk["name"], sk["enabled"], sk["editable"]), (NAME, True, True))
        self.assertIsInstance(sk["version"], int)
        self.assertEqual(sk["config"]["field_mapping"], mapping)
        self.assertEqual(sk["config"]["options"]["list_id"], 5)

        listed = self.skill()
        self.assertTrue(listed["enabled"])
        self.assertEqual(listed["config"]["field_mapping"], mapping)
        self.assertEqual(listed["config"]["options"]["list_id"], 5)

        # The same change as keyword arguments records nothing new.
        again = self.synclayer.skills.enable(NAME, source=self.source, field_mapping=mapping, options={"list_id": 5})
        self.assertEqual(again["version"], sk["version"])

    def test_trigger_then_contact_exists_and_is_delivered(self):
        email = f"grace-{RUN}@example.com"
        res = self.synclayer.skills.trigger(
            NAME,
            event="customer_created",
            data={"id": f"py-{RUN}", "email": f"Grace-{RUN}@Example.com", "firstName": "Grace", "lastName": "Hopper"},
        )
        self.assertEqual(res["status"], "applied", res)
        self.assertTrue(res["id"])
        self.assertTrue(res["contactId"].startswith("ct_"), res)

        contact = self.synclayer.contacts.get(res["contactId"])
        self.assertEqual(contact["email"], email)
        self.assertEqual(contact["sourceIds"]["manual"], f"py-{RUN}")
        self.assertEqual(contact["fields"]["firstName"]["v"], "Grace")
        self.assertEqual([c["id"] for c in self.synclayer.contacts.list(email=email)], [res["contactId"]])
        self.assertEqual(self.synclayer.contacts.list(email=f"nobody-{RUN}@example.com"), [])

        deadline = time.monotonic() + 20
        trace = self.synclayer.contacts.trace(res["contactId"])
        while trace[-1]["kind"] != "delivery" and time.monotonic() < deadline:
            time.sleep(0.1)
            trace = self.synclayer.contacts.trace(res["contactId"])
        self.assertEqual(trace[0]["kind"], "event")
        self.assertEqual(trace[0]["eventId"], res["id"])
        self.assertEqual(trace[-1]["kind"], "delivery", "the delivery to the destination was never traced")

    def test_invalid_config_names_the_field_and_changes_nothing(self):
        before = self.skill()
        self.assertError(
            lambda: self.synclayer.skills.enable(NAME, source=self.source, field_mapping={"email": "email"}, options={"list_id": -1}),
            400, "invalid", "options.list_id",
        )
        self.assertError(
            lambda: self.synclayer.skills.enable(NAME, {"source": self.source, "field_mapping": {"firstName": "FIRSTNAME"}}),
            400, "invalid", "field_mapping",
        )
        self.assertError(lambda: self.synclayer.skills.enable(NAME, source=self.source, options={"list_idd": 5}), 400, "invalid", "options.list_idd")
        self.assertEqual(self.skill(), before)

    def test_invalid_trigger_names_the_field(self):
        self.assertError(lambda: self.synclayer.skills.trigger(NAME, data={"email": f"x-{RUN}@example.com"}), 400, "invalid", "event")
        self.assertError(lambda: self.synclayer.skills.trigger(NAME, "customer_created", {"firstName": "Nobody"}), 400, "invalid", "data.id")
        self.assertError(lambda: self.synclayer.skills.trigger(NAME, "customer_created", {}, extra=1), 400, "invalid", "extra")
        self.assertError(lambda: self.synclayer.skills.trigger("no-such-skill", "customer_created", {"email": "x@example.com"}), 404, "not_found")

    def test_disabled_skill_refuses_triggers_until_enabled(self):
        off = self.synclayer.skills.disable(NAME)
        self.assertFalse(off["enabled"])
        self.assertEqual(off["sources"], [])
        self.assertError(lambda: self.synclayer.skills.trigger(NAME, "customer_created", {"email": f"off-{RUN}@example.com"}), 409, "conflict")
        on = self.synclayer.skills.enable(NAME, off["config"])
        self.assertTrue(on["enabled"])
        self.assertGreater(on["version"], off["version"])

    def test_contacts_jobs_dlq_and_stats(self):
        self.assertError(lambda: self.synclayer.contacts.get(f"ct_missing_{RUN}"), 404, "not_found")
        self.assertError(lambda: self.synclayer.contacts.trace(f"ct_missing_{RUN}"), 404, "not_found")
        self.assertError(lambda: self.synclayer.jobs.list(state="sleeping"), 400, "invalid", "state")

        # The server's DLQ may hold others' jobs: this retries one and
        # discards another only when there are two.
        dead = self.synclayer.dlq.list()
        self.assertIsInstance(dead, list)
        if len(dead) >= 2:
            retried, discarded = dead[0], dead[1]
            self.assertTrue(retried["lastError"], "a dead job says why it gave up")
            self.assertEqual(self.synclayer.dlq.retry(retried["id"]), {"id": retried["id"], "status": "requeued"})
            self.assertError(lambda: self.synclayer.dlq.retry(retried["id"]), 404, "not_found")
            self.assertIsNone(self.synclayer.dlq.delete(discarded["id"]))
            self.assertError(lambda: self.synclayer.dlq.delete(discarded["id"]), 404, "not_found")
            left = [j["id"] for j in self.synclayer.dlq.list()]
            self.assertNotIn(retried["id"], left)
            self.assertNotIn(discarded["id"], left)
            pending = self.synclayer.jobs.list(state="pending", skill=retried["skill"])
            self.assertIn(retried["id"], [j["id"] for j in pending])

        stats = self.synclayer.stats(window="24h")
        self.assertEqual(stats["window"], "24h")
        self.assertIn(NAME, [s["skill"] for s in stats["skills"]])
        self.assertError(lambda: self.synclayer.stats(window="2h"), 400, "invalid", "window")

    @unittest.skipUnless(VIEWER_KEY, "set SYNCLAYER_VIEWER_KEY")
    def test_viewer_key_reads_but_cannot_enable(self):
        viewer = Synclayer(base_url=URL, api_key=VIEWER_KEY)
        self.assertIn(NAME, [s["name"] for s in viewer.skills.list()])
        self.assertError(lambda: viewer.skills.enable(NAME, source=self.source), 403, "forbidden", key=VIEWER_KEY)
        self.assertError(lambda: viewer.skills.trigger(NAME, "customer_created", {"email": f"v-{RUN}@example.com"}), 403, "forbidden", key=VIEWER_KEY)

    def test_wrong_key_is_401(self):
        key = f"sl_wrong{RUN}"
        wrong = Synclayer(base_url=URL, api_key=key)
        self.assertError(wrong.skills.list, 401, "unauthorized", key=key)
        self.assertError(wrong.dlq.list, 401, "unauthorized", key=key)
        self.assertNotIn(key, repr(wrong))


if __name__ == "__main__":
    unittest.main()
