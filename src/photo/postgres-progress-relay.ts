import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import type { ProgressEvent, ProgressHub } from './progress.ts';

const CHANNEL = 'faceserver_photo_progress';
const RECONNECT_MS = 1_000;

interface Relayed {
  origin: string;
  owner: string | null;
  clientJobId: string;
  event: ProgressEvent;
}

/**
 * Analyze progress shared by every API node over PostgreSQL LISTEN/NOTIFY: a client may open its SSE
 * stream on one node while a load balancer sends the upload to another. Each node publishes what its own
 * jobs report and hands what the others publish to its hub, so a stream on any node sees every step, and
 * a late one the steps so far. The events carry percentages, stages and the key id, never an image.
 * Progress is a courtesy, not a record: while the listening connection is down, events are missed and
 * the connection is reopened.
 */
export class PostgresProgressRelay {
  /** this node, so that it ignores its own notifications (its hub has them already) */
  private readonly origin = randomUUID();
  private listener: pg.Client | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private closed = false;
  /** publishes one after another, so that other nodes receive a job's steps in order */
  private sending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly hub: ProgressHub,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** listens on a connection of its own to `url`; publishes through `pool` (the caller's) */
  static async start(url: string, pool: pg.Pool, hub: ProgressHub, logger: Pick<Logger, 'warn'>): Promise<PostgresProgressRelay> {
    const relay = new PostgresProgressRelay(url, pool, hub, logger);
    await relay.listen();
    hub.relayTo((owner, clientJobId, event) => relay.publish({ origin: relay.origin, owner, clientJobId, event }));
    return relay;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    await this.sending;
    await this.listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.deliver(message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'PostgreSQL connection lost (photo progress from other nodes)');
      this.listenAgain(client);
    });
    client.on('end', () => this.listenAgain(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) await client.end().catch(() => undefined);
    else this.listener = client;
  }

  private listenAgain(lost: pg.Client): void {
    if (this.closed || this.listener !== lost) return;
    this.listener = undefined;
    lost.end().catch(() => undefined);
    this.retryListening();
  }

  private retryListening(): void {
    this.reconnect = setTimeout(() => {
      this.listen().catch((error: unknown) => {
        this.logger.warn({ err: (error as Error).message }, 'cannot listen for photo progress from other nodes; retrying');
        if (!this.closed) this.retryListening();
      });
    }, RECONNECT_MS);
    this.reconnect.unref();
  }

  private publish(relayed: Relayed): void {
    this.sending = this.sending
      .then(() => this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(relayed)]))
      .catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'cannot publish photo progress to other nodes'));
  }

  private deliver(payload: string): void {
    let relayed: Relayed;
    try {
      relayed = JSON.parse(payload) as Relayed;
    } catch {
      // not from a node (anyone connected may NOTIFY): ignored, never an exception in the listener
      this.logger.warn({ channel: CHANNEL }, 'ignored a photo progress notification that is not JSON');
      return;
    }
    if (relayed.origin === this.origin) return;
    this.hub.receive(relayed.owner, relayed.clientJobId, relayed.event);
  }
}
