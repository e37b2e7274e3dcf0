import { pino, type Logger } from 'pino';

/** For tests and tools: keeps warnings visible, drops the rest. */
export const quietLogger: Logger = pino({ level: 'warn' });
