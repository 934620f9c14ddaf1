/**
 * The gateway demo's configuration: `demo.enabled` turns the page off; loopback clients get it by default
 * (non-loopback clients need `demo.allowRemote`, which the tests cannot exercise: they bind only to loopback).
 */
import t from "tap";
import { startTestServer } from "../../helpers/inProcessServer.js";

t.setTimeout(60_000);

t.test("demo.enabled: false removes /demo/gateway; the default serves it to loopback clients", async (t) => {
  const off = await startTestServer({ demo: { enabled: false } });
  t.teardown(() => off.stop());
  const offRes = await fetch(`http://127.0.0.1:${off.port}/demo/gateway`);
  t.equal(offRes.status, 404, "no demo page when disabled");
  const on = await startTestServer();
  t.teardown(() => on.stop());
  const onRes = await fetch(`http://127.0.0.1:${on.port}/demo/gateway`);
  t.equal(onRes.status, 200, "a loopback client gets the page");
  t.match(await onRes.text(), /<html/i);
});
