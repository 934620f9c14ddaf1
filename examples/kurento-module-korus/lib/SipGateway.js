/*
 * korus.SipGateway: the singleton (id 'korus_SipGateway') announcing inbound calls.
 *
 *   client.getMediaobjectById('korus_SipGateway', (err, gw) => gw.on('IncomingCall', (ev) => …))
 *
 * IncomingCall carries {callId, trunk, from, to, pai, headers}. Claim the call by creating a SipEndpoint with
 * {callId} in any pipeline before sip.claimTimeoutMs runs out (then the dial plan takes it), and answer() it.
 */
"use strict";

var peer = require("./peer");
var invoke = require("./invoke");

var ChecktypeError = peer.kurentoClient.checkType.ChecktypeError;
var MediaObject = peer.core.abstracts.MediaObject;

function SipGateway() {
  SipGateway.super_.call(this);
}
peer.inherits(SipGateway, MediaObject);

invoke.defineGetter(SipGateway.prototype, "trunks");

SipGateway.constructorParams = {};
SipGateway.events = MediaObject.events.concat(["IncomingCall"]);

function checkSipGateway(key, value) {
  if (!(value instanceof SipGateway)) throw ChecktypeError(key, SipGateway, value);
}

module.exports = SipGateway;
SipGateway.check = checkSipGateway;
