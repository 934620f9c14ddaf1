/*
 * kurento-module-korus: Korus's "korus" module for kurento-client 7.x, written to match Korus's descriptor
 * (src/kurento/korusKmd.ts; `ServerManager.getKmd('korus')` returns it as kmd.json).
 *
 *   const kurento = require('kurento-client');
 *   kurento.register(require('kurento-module-korus'));
 *   pipeline.create('SipEndpoint', (err, sip) => sip.call('sip:bob@example.com', {trunk: 'carrier'}, cb));
 */
"use strict";

Object.defineProperty(exports, "name", { value: "korus" });
Object.defineProperty(exports, "version", { value: "0.1.0" });
/** Object id of the SipGateway singleton. */
Object.defineProperty(exports, "SIP_GATEWAY_ID", { value: "korus_SipGateway" });

exports.SipEndpoint = require("./SipEndpoint");
exports.SipGateway = require("./SipGateway");

exports.complexTypes = require("./complexTypes");
