import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Counts requests whose handler has not finished. A server's close() waits for its connections, but a
 * client that hangs up leaves its request running (the pipeline job, the gallery write, the audit row):
 * shutdown must wait for those too before it closes the stores beneath them.
 */
export function trackInFlight(handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>) {
  let running = 0;
  let onIdle: (() => void) | undefined;
  return {
    handler(request: IncomingMessage, response: ServerResponse): void {
      running++;
      void handle(request, response).finally(() => {
        if (--running === 0) onIdle?.();
      });
    },
    /** Resolves once no handler is running. */
    idle(): Promise<void> {
      return running === 0 ? Promise.resolve() : new Promise((resolve) => (onIdle = resolve));
    },
  };
}
