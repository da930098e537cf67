"""A pooled read whose connection the server ended while it sat idle in the pool (an operator's
pg_terminate_backend, idle_session_timeout, a restart) is answered at once on a fresh
connection. Pooled reads send their statement without polling the idle socket first
(common/store/db.c): the statement fails as a lost connection and db_read's one retry runs it
again on a new one, so the client never sees the loss."""

import unittest

import harness
from harness import Client, new_id
from db_support import PrivateCluster

APP = "orderly-query"  # the read pool's application_name (the projector's is longer)


class IdleLossTest(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.pc = PrivateCluster()

    @classmethod
    def tearDownClass(cls):
        problems = cls.pc.destroy()
        assert not problems, problems

    def pool_backends(self):
        return int(self.pc.value("SELECT count(*) FROM pg_stat_activity WHERE "
                                 "application_name = '%s'" % APP))

    def test_db_read_on_a_connection_ended_while_idle_is_answered(self):
        qry = self.pc.start("query", {"DB_POOL_SIZE": "1"})
        c = Client(qry.port)
        missing = "/v1/orders/" + new_id("gone-")
        for _ in range(3):
            self.assertEqual(c.get(missing).status, 404)  # the statement ran: no such order
        self.assertEqual(self.pool_backends(), 1)
        for round_ in range(3):
            self.pc.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "application_name = '%s'" % APP)
            self.assertTrue(harness.wait_until(lambda: self.pool_backends() == 0, 20))
            r = c.get(missing)
            self.assertEqual(r.status, 404, "round %d: %s" % (round_, r))
            self.assertEqual(self.pool_backends(), 1)
        c.close()
        with open(qry.logfile) as f:
            self.assertIn("database connection lost", f.read())


if __name__ == "__main__":
    unittest.main()
