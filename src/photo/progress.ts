/** One step of a job's progress, as sent to its server-sent-events stream. */
export interface ProgressEvent {
  /** 0–100 */
  percent: number;
  stage: 'started' | 'landmarks' | 'background' | 'done' | 'failed';
  /** the error code, on `failed` */
  error?: string;
}

type Listener = (event: ProgressEvent) => void;
/** sends an event reported on this node to the other nodes (src/photo/postgres-progress-relay.ts) */
export type ProgressPublisher = (owner: string | null, clientJobId: string, event: ProgressEvent) => void;

/** how long a finished analyze job's progress events stay available to a late SSE subscriber */
export const PROGRESS_RETAIN_MS = 60_000;

interface Channel {
  events: ProgressEvent[];
  listeners: Set<Listener>;
  expiry?: NodeJS.Timeout;
}

/**
 * Progress of analyze jobs by the client's own `clientJobId`, per API key: a stream opened with another
 * key sees nothing of it. A listener may subscribe before the job starts (the usual order: open the
 * stream, then upload) or after: it is sent what happened so far first. A finished job's events are
 * kept for `retainMs`, then forgotten; so is a channel nobody reports to.
 */
export class ProgressHub {
  private readonly channels = new Map<string, Channel>();
  private publish: ProgressPublisher | undefined;

  constructor(private readonly retainMs: number) {}

  /** from now on every event reported here is also published to the other API nodes */
  relayTo(publish: ProgressPublisher): void {
    this.publish = publish;
  }

  report(owner: string | null, clientJobId: string, event: ProgressEvent): void {
    this.receive(owner, clientJobId, event);
    this.publish?.(owner, clientJobId, event);
  }

  /** an event of a job running here, or one another node published: given to this node's listeners */
  receive(owner: string | null, clientJobId: string, event: ProgressEvent): void {
    const channel = this.channel(owner, clientJobId);
    channel.events.push(event);
    for (const listener of channel.listeners) listener(event);
    if (event.stage === 'done' || event.stage === 'failed') this.expireLater(owner, clientJobId, channel);
  }

  /** calls `listener` with past then future events; returns the unsubscribe */
  subscribe(owner: string | null, clientJobId: string, listener: Listener): () => void {
    const channel = this.channel(owner, clientJobId);
    for (const event of channel.events) listener(event);
    channel.listeners.add(listener);
    return () => {
      channel.listeners.delete(listener);
      if (channel.listeners.size === 0 && channel.events.length === 0) this.drop(owner, clientJobId, channel);
    };
  }

  private channel(owner: string | null, clientJobId: string): Channel {
    const key = `${owner ?? ''}\u0000${clientJobId}`;
    let channel = this.channels.get(key);
    if (!channel) {
      channel = { events: [], listeners: new Set() };
      this.channels.set(key, channel);
    }
    return channel;
  }

  private expireLater(owner: string | null, clientJobId: string, channel: Channel): void {
    clearTimeout(channel.expiry);
    channel.expiry = setTimeout(() => this.drop(owner, clientJobId, channel), this.retainMs);
    channel.expiry.unref();
  }

  private drop(owner: string | null, clientJobId: string, channel: Channel): void {
    const key = `${owner ?? ''}\u0000${clientJobId}`;
    if (this.channels.get(key) === channel) this.channels.delete(key);
  }
}
