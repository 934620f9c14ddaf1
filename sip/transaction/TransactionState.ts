/**
 * Transaction states (RFC 3261 §17, RFC 6026 §7.1 adds Accepted). One string enum for the four machines, as in
 * SIP.js (`core/transactions/transaction-state.ts`).
 *
 * ```
 * INVITE client:     Calling → Proceeding → Accepted → Terminated      (2xx, RFC 6026)
 *                      │  └──────────────→ Completed → Terminated      (300–699, ACK sent)
 *                      └─────────────────→ (Accepted | Completed | Terminated)
 * non-INVITE client: Trying → Proceeding → Completed → Terminated
 * INVITE server:     Proceeding → Accepted → Terminated                (2xx, RFC 6026)
 *                         └─────→ Completed → Confirmed → Terminated   (300–699, then ACK)
 * non-INVITE server: Trying → Proceeding → Completed → Terminated
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6026#section-7.1
 */
export enum TransactionState {
  Accepted = "Accepted",
  Calling = "Calling",
  Completed = "Completed",
  Confirmed = "Confirmed",
  Proceeding = "Proceeding",
  Terminated = "Terminated",
  Trying = "Trying",
}
