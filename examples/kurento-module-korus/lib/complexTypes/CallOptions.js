/*
 * korus.CallOptions (REGISTER): options of SipEndpoint.call().
 *
 * @property {String} [from] From URI (default: the trunk's, or sip.defaultFrom)
 * @property {String} [displayName] display name of the From header
 * @property {String} [trunk] name of the configured trunk to place the call on
 * @property {Object<String,String>} [headers] extra headers, e.g. {'P-Asserted-Identity': '<sip:+3312345@x>'}
 * @property {int} [ringTimeoutMs] time to wait for an answer (default 60000)
 */
"use strict";

var peer = require("../peer");

var ComplexType = peer.core.complexTypes.ComplexType;
var ChecktypeError = peer.kurentoClient.checkType.ChecktypeError;

var FIELDS = ["from", "displayName", "trunk", "headers", "ringTimeoutMs"];

function CallOptions(callOptionsDict) {
  if (!(this instanceof CallOptions)) return new CallOptions(callOptionsDict);

  callOptionsDict = callOptionsDict || {};
  Object.keys(callOptionsDict).forEach(function (k) {
    if (FIELDS.indexOf(k) < 0)
      throw new SyntaxError("CallOptions has no field '" + k + "' (fields: " + FIELDS.join(", ") + ")");
  });
  ["from", "displayName", "trunk"].forEach(function (k) {
    var v = callOptionsDict[k];
    if (v !== undefined && typeof v !== "string") throw new SyntaxError("CallOptions." + k + " should be a String");
  });
  var t = callOptionsDict.ringTimeoutMs;
  if (t !== undefined && (typeof t !== "number" || t % 1 !== 0))
    throw new SyntaxError("CallOptions.ringTimeoutMs should be an int");
  var h = callOptionsDict.headers;
  if (h !== undefined && (typeof h !== "object" || h === null || Array.isArray(h))) {
    throw new SyntaxError("CallOptions.headers should be an object of String values");
  }

  CallOptions.super_.call(this, callOptionsDict);

  var props = {};
  FIELDS.forEach(function (k) {
    if (callOptionsDict[k] !== undefined) props[k] = { writable: true, enumerable: true, value: callOptionsDict[k] };
  });
  Object.defineProperties(this, props);
}
peer.inherits(CallOptions, ComplexType);

// Let the server rebuild the complex type (enumerable, so JSON.stringify writes them).
Object.defineProperties(CallOptions.prototype, {
  __module__: { enumerable: true, value: "korus" },
  __type__: { enumerable: true, value: "CallOptions" },
});

function checkCallOptions(key, value) {
  if (!(value instanceof CallOptions)) throw ChecktypeError(key, CallOptions, value);
}

module.exports = CallOptions;
CallOptions.check = checkCallOptions;
