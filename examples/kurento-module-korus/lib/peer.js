/*
 * The application's kurento-client, resolved as a peer dependency.
 *
 * kurento-client keeps its class registry in module state, so this module must extend the very copy the
 * application uses. npm installs `file:` and `npm link` dependencies as symlinks, and Node resolves a symlinked
 * package's own `require('kurento-client')` from its real location (outside the application): the copy is therefore
 * looked up from the module that required this package first, then by a plain require, then from the working
 * directory. kurento-client-core and inherits are loaded through kurento-client's own resolution.
 */
"use strict";

var Module = require("module");
var path = require("path");

var PACKAGE_DIR = path.resolve(__dirname, "..");

function requester() {
  // module.parent chain: the first module outside this package that loaded it (the application).
  var m = module.parent;
  while (m && typeof m.filename === "string" && m.filename.indexOf(PACKAGE_DIR + path.sep) === 0) {
    m = m.parent;
  }
  return m && typeof m.filename === "string" ? m.filename : undefined;
}

function resolveKurentoClient() {
  var froms = [];
  var parent = requester();
  if (parent) froms.push(parent);
  froms.push(__filename);
  if (require.main && require.main.filename) froms.push(require.main.filename);
  froms.push(path.join(process.cwd(), "package.json"));
  for (var i = 0; i < froms.length; i++) {
    try {
      return Module.createRequire(froms[i]).resolve("kurento-client");
    } catch (error) {
      if (error.code !== "MODULE_NOT_FOUND") throw error;
    }
  }
  throw new Error(
    "kurento-module-korus: cannot find the peer dependency 'kurento-client' (install kurento-client 7.x in the application)",
  );
}

var main = resolveKurentoClient();
var req = Module.createRequire(main);

exports.kurentoClient = req(main);
exports.core = req("kurento-client-core");
exports.inherits = req("inherits");
