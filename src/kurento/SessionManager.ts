/**
 * Kurento sessions (kurento-protocol.md §3): a session is a server-generated UUID, bound to the socket that last
 * used it, holding references to objects and the event subscriptions. Sessions survive socket drops, so a client
 * that reconnects and sends `connect {sessionId}` resumes with its objects and subscriptions.
 *
 * Garbage collection follows KMS's MediaSet: every `gcPeriodMs` the references of sessions not marked alive are
 * dropped, and objects left without any reference are released. A session with an open socket is alive; `connect`
 * and `keepAlive` also mark it alive.
 */
import { randomUUID } from "node:crypto";

export interface ClientConnection {
  readonly id: number;
  sessionId: string | null;
  readonly open: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
}

export interface Subscription {
  readonly id: string;
  readonly sessionId: string;
  readonly objectId: string;
  /** KMS 7 event name. */
  readonly event: string;
  /** The name the client subscribed with (a 6.x alias is emitted under that name). */
  readonly name: string;
}

export interface Session {
  readonly id: string;
  conn: ClientConnection | null;
  alive: boolean;
  readonly refs: Set<string>;
  readonly subscriptions: Map<string, Subscription>;
  /** Duplicate-request cache: request id → serialised response (KMS answers a repeat identically). */
  readonly answered: Map<string, string>;
}

const ANSWERED_CACHE = 64;

export class SessionManager {
  readonly #sessions = new Map<string, Session>();
  /** objectId → subscriptions on it, for event dispatch. */
  readonly #byObject = new Map<string, Set<Subscription>>();

  get size(): number {
    return this.#sessions.size;
  }

  ids(): string[] {
    return [...this.#sessions.keys()];
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** Returns the session `id`, creating it (with a fresh UUID when `id` is undefined). */
  obtain(id?: string): Session {
    const sid = id ?? randomUUID();
    let s = this.#sessions.get(sid);
    if (s === undefined) {
      s = { id: sid, conn: null, alive: true, refs: new Set(), subscriptions: new Map(), answered: new Map() };
      this.#sessions.set(sid, s);
    }
    return s;
  }

  /** Binds `session` to `conn`: events now go there; a previous socket loses it. */
  bind(session: Session, conn: ClientConnection): void {
    session.alive = true;
    if (session.conn === conn) {
      return;
    }
    if (session.conn !== null && session.conn.sessionId === session.id) {
      session.conn.sessionId = null;
    }
    session.conn = conn;
    conn.sessionId = session.id;
  }

  /** A socket closed: its session stays for reconnection until GC. */
  detach(conn: ClientConnection): void {
    if (conn.sessionId === null) {
      return;
    }
    const s = this.#sessions.get(conn.sessionId);
    if (s?.conn === conn) {
      s.conn = null;
    }
  }

  rememberAnswer(session: Session, requestId: string, response: string): void {
    session.answered.set(requestId, response);
    if (session.answered.size > ANSWERED_CACHE) {
      const oldest = session.answered.keys().next();
      if (oldest.done !== true) {
        session.answered.delete(oldest.value);
      }
    }
  }

  subscribe(session: Session, objectId: string, event: string, name: string): Subscription {
    const sub: Subscription = { id: randomUUID(), sessionId: session.id, objectId, event, name };
    session.subscriptions.set(sub.id, sub);
    let set = this.#byObject.get(objectId);
    if (set === undefined) {
      set = new Set();
      this.#byObject.set(objectId, set);
    }
    set.add(sub);
    session.refs.add(objectId);
    return sub;
  }

  unsubscribe(session: Session, subscriptionId: string): void {
    const sub = session.subscriptions.get(subscriptionId);
    if (sub === undefined) {
      return;
    }
    session.subscriptions.delete(subscriptionId);
    this.#byObject.get(sub.objectId)?.delete(sub);
  }

  /** Subscriptions to `event` on `objectId`, one per (session, subscribed name): no duplicate notifications. */
  subscribersOf(objectId: string, event: string): Subscription[] {
    const set = this.#byObject.get(objectId);
    if (set === undefined) {
      return [];
    }
    const seen = new Set<string>();
    const out: Subscription[] = [];
    for (const s of set) {
      const key = `${s.sessionId}|${s.name}`;
      if (s.event === event && !seen.has(key)) {
        seen.add(key);
        out.push(s);
      }
    }
    return out;
  }

  /** Forgets everything about a destroyed object. */
  objectGone(objectId: string): void {
    const set = this.#byObject.get(objectId);
    if (set !== undefined) {
      for (const sub of set) {
        this.#sessions.get(sub.sessionId)?.subscriptions.delete(sub.id);
      }
      this.#byObject.delete(objectId);
    }
    for (const s of this.#sessions.values()) {
      s.refs.delete(objectId);
    }
  }

  /** Drops a session: its subscriptions and references. Returns the ids it referenced. */
  drop(session: Session): string[] {
    for (const id of [...session.subscriptions.keys()]) {
      this.unsubscribe(session, id);
    }
    this.#sessions.delete(session.id);
    if (session.conn !== null && session.conn.sessionId === session.id) {
      session.conn.sessionId = null;
    }
    return [...session.refs];
  }

  /**
   * One garbage-collection round. Sessions with an open socket are alive; the others that were not marked alive
   * since the last round are dropped. Returns the object ids that no remaining session references.
   */
  collect(isCandidate: (objectId: string) => boolean): string[] {
    const dropped: string[] = [];
    for (const s of [...this.#sessions.values()]) {
      if (s.conn?.open === true) {
        s.alive = true;
      }
      if (!s.alive) {
        dropped.push(...this.drop(s));
      } else {
        s.alive = false;
      }
    }
    const stillReferenced = new Set<string>();
    for (const s of this.#sessions.values()) {
      for (const r of s.refs) {
        stillReferenced.add(r);
      }
    }
    return [...new Set(dropped)].filter((id) => !stillReferenced.has(id) && isCandidate(id));
  }
}
