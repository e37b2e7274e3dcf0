import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'faceserver' } });
}

/** For tests and tools: keeps warnings visible, drops the rest. */
export const quietLogger: Logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
