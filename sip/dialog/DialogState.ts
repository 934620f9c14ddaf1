/**
 * Dialog states (RFC 3261 §12: "A dialog can also be in the 'early' state, which occurs when it is created with a
 * provisional response, and then transition to the 'confirmed' state when a 2xx final response arrives").
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-12
 */
export enum DialogState {
  Early = "Early",
  Confirmed = "Confirmed",
  Terminated = "Terminated",
}
