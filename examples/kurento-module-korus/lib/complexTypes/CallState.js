/*
 * korus.CallState (ENUM): the state of a SipEndpoint's call.
 * IDLE → CALLING → RINGING → EARLY_MEDIA → CONNECTED → TERMINATED (inbound legs start at RINGING).
 */
"use strict";

var VALUES = ["IDLE", "CALLING", "RINGING", "EARLY_MEDIA", "CONNECTED", "TERMINATED"];

function checkCallState(key, value) {
  if (typeof value != "string") throw SyntaxError(key + " param should be a String, not " + typeof value);
  if (VALUES.indexOf(value) < 0)
    throw SyntaxError(key + " param is not one of [" + VALUES.join("|") + "] (" + value + ")");
}

module.exports = checkCallState;
checkCallState.values = VALUES;
