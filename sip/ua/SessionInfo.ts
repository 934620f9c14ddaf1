/**
 * INFO inside a call (RFC 6086, legacy usage without Info-Package, as carriers send DTMF): ours, resolved with the
 * final status, and the peer's, answered 200 and handed to the application.
 * @see https://www.rfc-editor.org/rfc/rfc6086
 */

import type { SipRequest } from "../message/SipMessage.js";
import type { ServerTransaction } from "../transaction/TransactionLayer.js";
import type { SessionDialog } from "./SessionDialog.js";
import { SessionState } from "./SessionState.js";
import { SessionStateError } from "./sessionTypes.js";

/**
 * Sends an INFO and resolves with its final status: 408 on timeout, 503 on a transport failure.
 * @throws {SessionStateError} unless the call is answered (Accepted or Confirmed).
 */
export function sendInfo(core: SessionDialog, contentType: string, body: string): Promise<number> {
  core.require(SessionState.Accepted, SessionState.Confirmed);
  const dialog = core.dialog;
  if (dialog === undefined) {
    throw new SessionStateError("no dialog");
  }
  const req = dialog.createRequest("INFO");
  req.setHeader("Content-Type", contentType);
  req.bodyText = body;
  return new Promise((resolve) => {
    core.sendInDialog(
      dialog,
      req,
      (r) => {
        if (r.status >= 200) {
          resolve(r.status);
        }
      },
      resolve,
    );
  });
}

/** The peer's INFO: answered 200; the body (e.g. application/dtmf-relay) goes to the application. */
export function receiveInfo(core: SessionDialog, request: SipRequest, tx: ServerTransaction): void {
  tx.respond(core.response(request, 200));
  core.events.emit("info", request);
}
