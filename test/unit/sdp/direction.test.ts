import t from "tap";
import { DIRECTIONS, answerDirection, directionOf, isDirection, receives, sends } from "../../../sdp/index.js";

t.test("answerDirection() follows the RFC 3264 §6.1 table", async (t) => {
  t.equal(answerDirection("sendrecv"), "sendrecv");
  t.equal(answerDirection("sendonly"), "recvonly", "an offered sendonly stream is answered recvonly");
  t.equal(answerDirection("recvonly"), "sendonly");
  t.equal(answerDirection("inactive"), "inactive");
  t.equal(answerDirection("sendrecv", "sendonly"), "sendonly", "the answerer may put the call on hold");
  t.equal(answerDirection("sendonly", "sendonly"), "inactive", "both sides on hold");
  t.equal(answerDirection("recvonly", "recvonly"), "inactive");
});

t.test("direction helpers", async (t) => {
  t.same(DIRECTIONS, ["sendrecv", "sendonly", "recvonly", "inactive"]);
  t.ok(isDirection("inactive"));
  t.notOk(isDirection("rtcp-mux"));
  t.ok(sends("sendonly"));
  t.notOk(sends("recvonly"));
  t.ok(receives("recvonly"));
  t.notOk(receives("inactive"));
  t.equal(directionOf(true, true), "sendrecv");
  t.equal(directionOf(true, false), "sendonly");
  t.equal(directionOf(false, true), "recvonly");
  t.equal(directionOf(false, false), "inactive");
});
