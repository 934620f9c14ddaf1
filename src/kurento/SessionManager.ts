/**
 * Kurento sessions (kurento-protocol.md §3): a session is a server-generated UUID, bound to the socket that last
 * used it, holding references to objects and the event subscriptions. Sessions survive socket drops, so a client
 * that reconnects and sends `connect {sessionId}` resumes with its objects and subscriptions.
 *
 * Garbage collection follows KMS's MediaSet: every `gcPeriodMs` the references of sessions not marked alive are
 * dropped, and objects left without any reference are released. A session with an open socket is alive; `connect`
 * and `keepAlive` also mark it alive.
 *
 * Bounds (issue 9, defect 4): a session belongs to the application and the client address that created it; the
 * manager counts the sessions each connection created or joined and each address holds, so the caller can refuse
 * one more; the duplicate-answer cache of a session is bounded in characters as well as in entries.
 */
import { randomUUID } from "node:crypto";

export interface ClientConnection {
  readonly id: number;
  sessionId: string | null;
  /** The application the connection authenticated as ("" when authentication is off or for in-process clients). */
  readonly application?: string;
  /** The client's address (for per-address limits); undefined for in-process clients. */
  readonly address?: string;
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
  /** The application that created the session; only its connections may use it. */
  readonly application: string;
  /** The address of the client that created it ("" for in-process clients). */
  readonly address: string;
  /**
   * Created by one of the server's own in-process clients (the SIP dial plan, the gateway demo): it sees every
   * application's objects, and the pipelines it creates (a dial-plan room) are shared by all applications.
   */
  readonly internal: boolean;
  conn: ClientConnection | null;
  alive: boolean;
  readonly refs: Set<string>;
  readonly subscriptions: Map<string, Subscription>;
  /**
   * Duplicate-request cache: request id → the request's fingerprint and serialised response. KMS answers a repeat
   * (same id, same session) identically; the fingerprint makes sure it is a repeat, not another request that
   * reuses the id (a new client instance resuming the session numbers its requests from 0 again).
   */
  readonly answered: Map<string, CachedAnswer>;
  /** Characters held by `answered` (keys and responses). */
  answeredChars: number;
}

export interface CachedAnswer {
  readonly fingerprint: string;
  readonly response: string;
}

/** Most answers one session's duplicate-request cache keeps. */
export const ANSWERED_MAX_ENTRIES = 64;
/** Most characters (keys + serialised responses) one session's cache keeps; the oldest answers go first. */
export const ANSWERED_MAX_CHARS = 32 * 1024;
/** A larger answer is not cached (a repeat of it is executed again, like getKmd, which is harmless). */
export const ANSWERED_MAX_ENTRY_CHARS = 16 * 1024;

export class SessionManager {
  readonly #sessions = new Map<string, Session>();
  /** objectId → subscriptions on it, for event dispatch. */
  readonly #byObject = new Map<string, Set<Subscription>>();
  /** Sessions each open connection created or joined. */
  readonly #byConn = new Map<ClientConnection, Set<string>>();
  /** Sessions held per client address. */
  readonly #byAddress = new Map<string, number>();

  get size(): number {
    return this.#sessions.size;
  }

  ids(): string[] {
    return [...this.#sessions.keys()];
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /**
   * Returns the session `id`, creating it (with a fresh UUID when `id` is undefined) for `owner`'s application and
   * address. An existing session is returned whoever owns it: the caller checks ownership and limits first.
   */
  obtain(id?: string, owner?: ClientConnection): Session {
    const sid = id ?? randomUUID();
    let s = this.#sessions.get(sid);
    if (s === undefined) {
      const address = owner?.address ?? "";
      s = {
        id: sid,
        application: owner?.application ?? "",
        address,
        internal: owner !== undefined && owner.application === undefined && owner.address === undefined,
        conn: null,
        alive: true,
        refs: new Set(),
        subscriptions: new Map(),
        answered: new Map(),
        answeredChars: 0,
      };
      this.#sessions.set(sid, s);
      if (address !== "") {
        this.#byAddress.set(address, (this.#byAddress.get(address) ?? 0) + 1);
      }
      if (owner !== undefined) {
        this.join(s, owner);
      }
    }
    return s;
  }

  /** Sessions `conn` created or joined. */
  joinedBy(conn: ClientConnection): number {
    return this.#byConn.get(conn)?.size ?? 0;
  }

  /** True when `conn` already created or joined `session`. */
  hasJoined(conn: ClientConnection, session: Session): boolean {
    return this.#byConn.get(conn)?.has(session.id) === true;
  }

  /** Counts `session` among those `conn` uses (for maxSessionsPerConnection). */
  join(session: Session, conn: ClientConnection): void {
    let set = this.#byConn.get(conn);
    if (set === undefined) {
      set = new Set();
      this.#byConn.set(conn, set);
    }
    set.add(session.id);
  }

  /** Sessions created from `address` and not yet dropped. */
  heldBy(address: string): number {
    return this.#byAddress.get(address) ?? 0;
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
    this.#byConn.delete(conn);
    if (conn.sessionId === null) {
      return;
    }
    const s = this.#sessions.get(conn.sessionId);
    if (s?.conn === conn) {
      s.conn = null;
    }
  }

  /**
   * Keeps `response` for a repeat of request `key` in `session`, within {@link ANSWERED_MAX_ENTRIES} answers and
   * {@link ANSWERED_MAX_CHARS} characters (the oldest answers are evicted first).
   */
  rememberAnswer(session: Session, key: string, fingerprint: string, response: string): void {
    const size = key.length + fingerprint.length + response.length;
    const previous = session.answered.get(key);
    if (previous !== undefined) {
      session.answered.delete(key);
      session.answeredChars -= key.length + previous.fingerprint.length + previous.response.length;
    }
    if (size > ANSWERED_MAX_ENTRY_CHARS) {
      return;
    }
    session.answered.set(key, { fingerprint, response });
    session.answeredChars += size;
    while (session.answered.size > ANSWERED_MAX_ENTRIES || session.answeredChars > ANSWERED_MAX_CHARS) {
      const oldest = session.answered.entries().next();
      if (oldest.done === true) {
        break;
      }
      const [k, v] = oldest.value;
      session.answered.delete(k);
      session.answeredChars -= k.length + v.fingerprint.length + v.response.length;
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
    if (this.#sessions.delete(session.id) && session.address !== "") {
      const n = (this.#byAddress.get(session.address) ?? 1) - 1;
      if (n <= 0) {
        this.#byAddress.delete(session.address);
      } else {
        this.#byAddress.set(session.address, n);
      }
    }
    if (session.conn !== null) {
      this.#byConn.get(session.conn)?.delete(session.id);
    }
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
