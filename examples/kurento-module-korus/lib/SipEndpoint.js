/*
 * korus.SipEndpoint: a SIP call leg as a pipeline element (media like an RtpEndpoint, SDP negotiated over SIP).
 *
 * Outbound: pipeline.create('SipEndpoint'), then call(uri, options). Inbound: pipeline.create('SipEndpoint',
 * {callId}) with the callId of SipGateway's IncomingCall, then answer() or reject(status, reason).
 * Both: hangup(), sendDtmf(digits, durationMs, gapMs), getCallState(), getSipCallId(), getRemoteIdentity().
 * Events: CallStateChanged {state, sipStatus, q850Cause}, DtmfReceived {digit, durationMs}, and every
 * BaseRtpEndpoint event (MediaSessionStarted, MediaSessionTerminated, MediaFlowInStateChanged, …).
 */
"use strict";

var peer = require("./peer");
var invoke = require("./invoke");
var CallOptions = require("./complexTypes/CallOptions");

var ChecktypeError = peer.kurentoClient.checkType.ChecktypeError;
var BaseRtpEndpoint = peer.core.abstracts.BaseRtpEndpoint;

function SipEndpoint() {
  SipEndpoint.super_.call(this);
}
peer.inherits(SipEndpoint, BaseRtpEndpoint);

// Properties (read-only)
invoke.defineGetter(SipEndpoint.prototype, "callState");
invoke.defineGetter(SipEndpoint.prototype, "sipCallId");
invoke.defineGetter(SipEndpoint.prototype, "remoteIdentity");

// Methods
function toCallOptions(value) {
  return value instanceof CallOptions ? value : CallOptions(value);
}
/** call(uri, [options], [callback]): places the call; options is a CallOptions or a plain object of its fields. */
invoke.defineMethod(SipEndpoint.prototype, "call", ["uri", "options"], 1, { options: toCallOptions });
/** answer([callback]): answers the inbound call this endpoint claimed. */
invoke.defineMethod(SipEndpoint.prototype, "answer", [], 0);
/** reject([status=486], [reason], [callback]): rejects the inbound call this endpoint claimed. */
invoke.defineMethod(SipEndpoint.prototype, "reject", ["status", "reason"], 0);
/** hangup([callback]): CANCEL or BYE, whichever the call needs. */
invoke.defineMethod(SipEndpoint.prototype, "hangup", [], 0);
/** sendDtmf(digits, [durationMs=100], [gapMs=50], [callback]): RFC 4733 telephone-events. */
invoke.defineMethod(SipEndpoint.prototype, "sendDtmf", ["digits", "durationMs", "gapMs"], 1);

SipEndpoint.constructorParams = {
  mediaPipeline: { type: "kurento.MediaPipeline", required: true },
  callId: { type: "String" },
};

SipEndpoint.events = BaseRtpEndpoint.events.concat(["CallStateChanged", "DtmfReceived"]);

function checkSipEndpoint(key, value) {
  if (!(value instanceof SipEndpoint)) throw ChecktypeError(key, SipEndpoint, value);
}

module.exports = SipEndpoint;
SipEndpoint.check = checkSipEndpoint;
