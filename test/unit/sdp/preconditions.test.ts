import t from "tap";
import { SdpParseError, formatPrecondition, isPreconditionAttribute, parsePrecondition } from "../../../sdp/index.js";

t.test("parsePrecondition() reads curr, des and conf lines (RFC 3312 §5)", async (t) => {
  t.same(parsePrecondition("curr", "qos local none"), {
    status: "curr",
    type: "qos",
    statusType: "local",
    direction: "none",
  });
  t.same(parsePrecondition("des", "qos mandatory local sendrecv"), {
    status: "des",
    type: "qos",
    strength: "mandatory",
    statusType: "local",
    direction: "sendrecv",
  });
  t.equal(parsePrecondition("conf", "qos remote send").direction, "send", "send is not mistaken for sendrecv");
  t.equal(parsePrecondition("des", "qos optional e2e recv").strength, "optional");
});

t.test("formatPrecondition() round-trips", async (t) => {
  t.equal(formatPrecondition(parsePrecondition("des", "qos optional remote sendrecv")), "qos optional remote sendrecv");
  t.equal(formatPrecondition(parsePrecondition("curr", "qos e2e none")), "qos e2e none");
});

t.test("parsePrecondition() of a malformed value throws SdpParseError", async (t) => {
  t.throws(() => parsePrecondition("des", "qos local sendrecv", 14), { name: "SdpParseError", line: 14 });
  t.throws(() => parsePrecondition("curr", "qos mandatory local none"), SdpParseError);
  t.throws(() => parsePrecondition("curr", "qos local both"), SdpParseError);
});

t.test("isPreconditionAttribute() knows curr, des and conf", async (t) => {
  t.ok(isPreconditionAttribute("curr"));
  t.ok(isPreconditionAttribute("des"));
  t.ok(isPreconditionAttribute("conf"));
  t.notOk(isPreconditionAttribute("qos"));
});
