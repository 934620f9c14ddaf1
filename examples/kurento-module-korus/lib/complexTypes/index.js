"use strict";

exports.CallOptions = require("./CallOptions");
exports.CallState = require("./CallState");
