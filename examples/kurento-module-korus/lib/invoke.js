/*
 * The glue every generated Kurento client method shares: an optional leading Transaction, an optional trailing
 * callback (a promise is returned when it is absent), optional parameters dropped when undefined, and the
 * `_invoke` of kurento-client-core's MediaObject.
 */
"use strict";

var peer = require("./peer");

var disguise = peer.kurentoClient.disguise;
var Transaction = peer.kurentoClient.TransactionsManager.Transaction;

function noop(error, result) {
  if (error) console.trace(error);
  return result;
}

/**
 * Defines `prototype[name](…params, [callback])` invoking the remote `operation` with the named params.
 * `required` is the number of leading params that must be given.
 */
function defineMethod(prototype, name, paramNames, required, convert) {
  prototype[name] = function () {
    var args = Array.prototype.slice.call(arguments);
    var transaction = args[0] instanceof Transaction ? args.shift() : undefined;
    var callback = args.length && args[args.length - 1] instanceof Function ? args.pop() : undefined;
    if (args.length < required || args.length > paramNames.length) {
      var error = new RangeError(
        "Number of params (" + args.length + ") not in range [" + required + "-" + paramNames.length + "]",
      );
      error.length = args.length;
      error.min = required;
      error.max = paramNames.length;
      throw error;
    }
    var params;
    paramNames.forEach(function (p, i) {
      var value = args[i];
      if (value === undefined) return;
      if (convert && convert[p]) value = convert[p](value);
      params = params || {};
      params[p] = value;
    });
    callback = (callback || noop).bind(this);
    return disguise(
      params === undefined
        ? this._invoke(transaction, name, callback)
        : this._invoke(transaction, name, params, callback),
      this,
    );
  };
}

/** Defines `prototype.get<Property>([callback])`. */
function defineGetter(prototype, property) {
  defineMethod(prototype, "get" + property.charAt(0).toUpperCase() + property.slice(1), [], 0);
}

exports.defineMethod = defineMethod;
exports.defineGetter = defineGetter;
