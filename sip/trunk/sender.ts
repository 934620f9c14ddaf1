/**
 * Adapts a transaction layer to the {@link RequestSender} the keepalive monitor and the REGISTER client use: each
 * request runs as a non-INVITE client transaction (RFC 3261 §17.1.2: retransmissions on UDP, Timer F), its first
 * final response resolves the promise, Timer F resolves `"timeout"` (§8.1.3.1 treats it as 408), and a transport
 * failure rejects.
 *
 * The layer is described structurally, so this file does not depend on the transaction layer's concrete class; the
 * stack's `TransactionLayer.request(request, destination, user)` fits.
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import type { SipDestination } from "../transport/SipTransport.js";
import type { RequestSender, SendOutcome } from "./OptionsKeepalive.js";

/** The callbacks a client transaction reports to (a subset of the transaction user). */
export interface NonInviteClientUser {
  receiveResponse?(response: SipResponse): void;
  onRequestTimeout?(): void;
  onTransportError?(error: Error): void;
}

/** Anything that can start a client transaction. */
export interface ClientTransactionStarter {
  request(request: SipRequest, destination: SipDestination, user: NonInviteClientUser): unknown;
}

/**
 * A {@link RequestSender} on top of a transaction layer.
 * @throws (through the promise) whatever the layer throws when it cannot start the transaction.
 */
export function transactionSender(layer: ClientTransactionStarter): RequestSender {
  return (request, destination) =>
    new Promise<SendOutcome>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      layer.request(request, destination, {
        receiveResponse: (response) => {
          if (response.status >= 200) {
            settle(() => resolve(response));
          }
        },
        onRequestTimeout: () => settle(() => resolve("timeout")),
        onTransportError: (error) => settle(() => reject(error)),
      });
    });
}
